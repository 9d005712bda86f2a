with

source as (

    select * from {{ source('exchange', 'order_book_snapshots') }}

),

latest as (

    {{ latest_version('source', ['snapshot_id'], table='order_book_snapshots') }}

),

renamed as (

    select
        snapshot_id,
        pair_id,
        timestamp as snapshot_at,
        best_bid_price,
        best_ask_price,
        spread_bps,
        bid_depth_1_percent,
        ask_depth_1_percent,
        _loaded_at as loaded_at
    from latest

)

select * from renamed
