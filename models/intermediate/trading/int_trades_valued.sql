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

-- One row per fill: notional in the quote asset and in USD, fee in USD (SPEC section 3).
-- notional_usd = quantity * price * USD rate of the quote asset at the fill's hour;
-- fee_usd = fee * USD rate of the fee asset at the same hour. NULL where no rate exists.

with

trades as (

    select * from {{ ref('stg_exchange__trades') }}
    where {{ incremental_window('executed_at') }}

),

pairs as (

    select * from {{ ref('stg_exchange__trading_pairs') }}

),

stablecoins as (

    select * from {{ ref('stablecoins') }}

),

rates as (

    select * from {{ ref('int_asset_usd_rates_hourly') }}

),

trades_with_pair as (

    select
        trades.*,
        pairs.symbol,
        pairs.base_asset,
        pairs.quote_asset,
        {{ dbt.date_trunc('hour', 'trades.executed_at') }} as executed_hour,
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
        coalesce(quote_stable.usd_rate, quote_rates.usd_rate) as quote_usd_rate,
        cast(trades_with_pair.notional as {{ type_double() }})
        * coalesce(quote_stable.usd_rate, quote_rates.usd_rate) as notional_usd,
        cast(trades_with_pair.fee_amount as {{ type_double() }})
        * coalesce(fee_stable.usd_rate, fee_rates.usd_rate) as fee_usd,
        trades_with_pair.loaded_at
    from trades_with_pair
    left join stablecoins as quote_stable
        on trades_with_pair.quote_asset = quote_stable.asset
    left join rates as quote_rates
        on trades_with_pair.quote_asset = quote_rates.asset
        and trades_with_pair.executed_hour = quote_rates.rate_hour
    left join stablecoins as fee_stable
        on trades_with_pair.fee_asset = fee_stable.asset
    left join rates as fee_rates
        on trades_with_pair.fee_asset = fee_rates.asset
        and trades_with_pair.executed_hour = fee_rates.rate_hour

)

select * from valued
