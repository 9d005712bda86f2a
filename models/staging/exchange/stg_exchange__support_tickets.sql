with

source as (

    select * from {{ source('exchange', 'support_tickets') }}

),

latest as (

    {{ latest_version('source', ['ticket_id'], table='support_tickets') }}

),

renamed as (

    select
        ticket_id,
        user_id,
        category,
        status,
        created_at,
        resolved_at,
        _loaded_at as loaded_at
    from latest

)

select * from renamed
