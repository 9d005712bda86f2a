with

source as (

    select * from {{ source('exchange', 'user_kyc') }}

),

latest as (

    {{ latest_version('source', ['user_id'], table='user_kyc') }}

),

renamed as (

    select
        user_id,
        kyc_level,
        verification_status,
        approved_at,
        risk_score,
        compliance_notes,
        updated_at,
        _loaded_at as loaded_at
    from latest

)

select * from renamed
