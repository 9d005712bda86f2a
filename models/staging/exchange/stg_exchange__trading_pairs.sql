with

source as (

    select * from {{ source('exchange', 'trading_pairs') }}

),

latest as (

    {{ latest_version('source', ['pair_id'], table='trading_pairs') }}

),

renamed as (

    select
        pair_id,
        symbol,
        base_asset,
        quote_asset,
        status,
        min_order_size,
        maker_fee_rate,
        taker_fee_rate,
        created_at,
        _loaded_at as loaded_at
    from latest

)

select * from renamed
