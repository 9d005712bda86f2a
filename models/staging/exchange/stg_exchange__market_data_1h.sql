with

source as (

    select * from {{ source('exchange', 'market_data_1h') }}

),

latest as (

    {{ latest_version('source', ['pair_id', adapter.quote('timestamp')], table='market_data_1h') }}

),

renamed as (

    select
        pair_id,
        {{ adapter.quote('timestamp') }} as opened_at,
        open_price,
        high_price,
        low_price,
        close_price,
        volume,
        trade_count,
        _loaded_at as loaded_at
    from latest

)

select * from renamed
