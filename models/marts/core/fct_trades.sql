-- A view over the incremental intermediate table: no second copy of the largest fact.
{{ config(materialized='view') }}

-- One row per fill (maker and taker sides of every match), valued in USD.

with

trades as (

    select * from {{ ref('int_trades_valued') }}

),

final as (

    select
        trade_id,
        order_id,
        user_id,
        pair_id,
        symbol,
        base_asset,
        quote_asset,
        side,
        is_maker,
        quantity,
        price,
        notional,
        notional_usd,
        fee_amount,
        fee_asset,
        fee_usd,
        executed_at,
        executed_date
    from trades

)

select * from final
