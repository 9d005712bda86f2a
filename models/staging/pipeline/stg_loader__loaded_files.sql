with

source as (

    select * from {{ source('loader', 'loaded_files') }}

),

renamed as (

    select
        source_file,
        load_id,
        table_name as source_table,
        file_sha256,
        file_bytes,
        rows_loaded,
        rows_quarantined,
        status as file_status,
        -- a file whose content was already loaded under another name: recorded, not loaded
        coalesce(message like 'same content as %', false) as is_duplicate_content,
        message,
        loaded_at,
        cast(load_seconds as {{ type_double() }}) as load_seconds
    from source

)

select * from renamed
