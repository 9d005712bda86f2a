{{
    config(
        materialized='incremental',
        unique_key='trade_id',
        incremental_strategy=incremental_strategy(),
        on_schema_change='append_new_columns',
        tags=['daily_partitioned'],
        partition_by={'field': 'executed_date', 'data_type': 'date'} if target.type == 'bigquery' else none,
        cluster_by=['user_id'] if target.type == 'bigquery' else none,
    )
}}

-- One row per fill: notional in the quote asset and in USD, fee in USD
-- (docs/kpis.md#valuation-in-usd). notional_usd = quantity * price * USD rate of the quote asset at
-- the fill's hour; fee_usd = fee * USD rate of the fee asset at the same hour
-- (int_asset_usd_rates_hourly, stablecoins included, through usd_rate_join). NULL where no rate
-- exists.

with

trades as (

    select * from {{ ref('stg_exchange__trades') }}
    where {{ incremental_window('executed_at') }}

),

pairs as (

    select * from {{ ref('stg_exchange__trading_pairs') }}

),

trades_with_pair as (

    select
        trades.*,
        pairs.symbol,
        pairs.base_asset,
        pairs.quote_asset,
        trades.quantity * trades.price as notional
    from trades
    left join pairs
        on trades.pair_id = pairs.pair_id

),

valued as (

    select
        trades_with_pair.trade_id,
        trades_with_pair.order_id,
        trades_with_pair.user_id,
        trades_with_pair.pair_id,
        trades_with_pair.symbol,
        trades_with_pair.base_asset,
        trades_with_pair.quote_asset,
        trades_with_pair.side,
        trades_with_pair.is_maker,
        trades_with_pair.quantity,
        trades_with_pair.price,
        trades_with_pair.notional,
        trades_with_pair.fee_amount,
        trades_with_pair.fee_asset,
        trades_with_pair.executed_at,
        {{ to_day('trades_with_pair.executed_at') }} as executed_date,
        quote_rates.usd_rate as quote_usd_rate,
        cast(trades_with_pair.notional as {{ type_double() }}) * quote_rates.usd_rate as notional_usd,
        cast(trades_with_pair.fee_amount as {{ type_double() }}) * fee_rates.usd_rate as fee_usd,
        trades_with_pair.loaded_at
    from trades_with_pair
    {{ usd_rate_join('quote_rates', 'trades_with_pair.quote_asset', 'trades_with_pair.executed_at') }}
    {{ usd_rate_join('fee_rates', 'trades_with_pair.fee_asset', 'trades_with_pair.executed_at') }}

)

select * from valued
