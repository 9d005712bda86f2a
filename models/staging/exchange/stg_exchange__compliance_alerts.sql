with

source as (

    select * from {{ source('exchange', 'compliance_alerts') }}

),

latest as (

    {{ latest_version('source', ['alert_id'], table='compliance_alerts') }}

),

renamed as (

    select
        alert_id,
        user_id,
        transaction_id,
        alert_type,
        transaction_amount,
        investigation_status,
        disposition,
        created_at,
        _loaded_at as loaded_at
    from latest

)

select * from renamed
