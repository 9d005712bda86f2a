with

source as (

    select * from {{ source('loader', 'quarantine') }}

),

renamed as (

    select
        table_name as source_table,
        source_file,
        row_number as file_row_number,
        -- raw._quarantine keeps the record as sent (replayable; raw is not for analysts):
        -- here e-mails are removed and IPs truncated (docs/reliability.md#security)
        {{ mask_pii_text('reason') }} as reason,
        -- the first reason's kind (a record may have several, joined with '; ')
        case
            when reason like 'missing required column%' then 'missing_required_column'
            when reason like '%required value missing%' then 'required_value_missing'
            when reason like '%unknown value%' then 'unknown_enum_value'
            when reason like '%must be positive%' then 'not_positive'
            when reason like '%more digits than%' then 'too_many_digits'
            when reason like '%implausible time%' then 'implausible_time'
            when reason like '%not a valid%' then 'wrong_type'
            else 'malformed_record'
        end as reason_category,
        {{ mask_pii_text('record') }} as record,
        load_id,
        quarantined_at
    from source

)

select * from renamed
