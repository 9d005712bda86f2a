with

source as (

    select * from {{ source('exchange', 'login_events') }}

),

latest as (

    {{ latest_version('source', ['event_id'], table='login_events') }}

),

renamed as (

    select
        event_id,
        user_id,
        event_type,
        {{ truncate_ip('ip_address') }} as ip_network,
        -- The exact address for matching rules, as a keyed hash: never in clear
        -- (docs/reliability.md#security).
        {{ hash_ip('ip_address') }} as ip_address_hash,
        country_code,
        device_id,
        occurred_at,
        _loaded_at as loaded_at
    from latest

)

select * from renamed
