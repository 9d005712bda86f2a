with

source as (

    select * from {{ source('exchange', 'user_kyc') }}

),

latest as (

    {{ latest_version('source', ['user_id'], table='user_kyc') }}

),

-- Deleted in the operational database (docs/deletes.md): the verification record is kept as
-- it last was (KYC records are retained for AML) and flagged.
deletions as (

    select row_key, deleted_at, loaded_at
    from {{ ref('stg_exchange__deletions') }}
    where table_name = 'user_kyc'

),

renamed as (

    select
        latest.user_id,
        latest.kyc_level,
        latest.verification_status,
        latest.approved_at,
        latest.risk_score,
        latest.compliance_notes,
        latest.updated_at,
        coalesce(deletions.loaded_at >= latest._loaded_at, false) as is_deleted,
        case when deletions.loaded_at >= latest._loaded_at then deletions.deleted_at end as deleted_at,
        latest._loaded_at as loaded_at
    from latest
    left join deletions
        on latest.user_id = deletions.row_key

)

select * from renamed
