with

source as (

    select * from {{ source('exchange', 'trades') }}

),

latest as (

    {{ latest_version('source', ['trade_id'], version_column=none) }}

),

renamed as (

    select
        trade_id,
        order_id,
        user_id,
        pair_id,
        side,
        quantity,
        price,
        fee as fee_amount,
        fee_asset,
        is_maker,
        executed_at,
        _loaded_at as loaded_at
    from latest

)

select * from renamed
