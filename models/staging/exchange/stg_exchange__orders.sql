with

source as (

    select * from {{ source('exchange', 'orders') }}

),

latest as (

    {{ latest_version('source', ['order_id'], version_column='updated_at') }}

),

renamed as (

    select
        order_id,
        user_id,
        pair_id,
        order_type,
        side,
        quantity,
        price,
        status,
        filled_quantity,
        created_at as placed_at,
        updated_at,
        _loaded_at as loaded_at
    from latest

)

select * from renamed
