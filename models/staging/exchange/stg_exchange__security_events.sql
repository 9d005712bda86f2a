with

source as (

    select * from {{ source('exchange', 'security_events') }}

),

latest as (

    {{ latest_version('source', ['event_id'], table='security_events') }}

),

renamed as (

    select
        event_id,
        user_id,
        event_type,
        severity,
        {{ truncate_ip('ip_address') }} as ip_network,
        risk_score,
        status,
        created_at,
        _loaded_at as loaded_at
    from latest

)

select * from renamed
