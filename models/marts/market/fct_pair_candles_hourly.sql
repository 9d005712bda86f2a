{{
    config(
        materialized='incremental',
        unique_key=['pair_id', 'candle_hour'],
        incremental_strategy=incremental_strategy(),
        on_schema_change='append_new_columns',
        tags=['daily_partitioned'],
        partition_by={'field': 'candle_date', 'data_type': 'date'} if target.type == 'bigquery' else none,
        cluster_by=['pair_id'] if target.type == 'bigquery' else none,
    )
}}

-- One row per trading pair and hour with at least one taker fill: OHLCV candles built from the
-- fills (docs/kpis.md#market-metrics). Each match is counted once, on its taker side (is_maker =
-- false). open = price of the first fill by (executed_at, trade_id), close = the last; ties on
-- executed_at are broken by trade_id. Hours without a taker fill have no candle.
-- Incremental: a run rebuilds, from all their fills, the pair-hours that received a fill in
-- the window of incremental_window() (late fills included), and replaces those candles.

with

trades as {{ not_materialized() }} (

    select * from {{ ref('int_trades_valued') }}

),

{% if is_incremental() %}
changed_hours as (

    select distinct
        pair_id,
        {{ dbt.date_trunc('hour', 'executed_at') }} as candle_hour
    from trades
    where {{ incremental_window('executed_at') }}

),

trades_to_build as (

    select trades.*
    from trades
    inner join changed_hours
        on trades.pair_id = changed_hours.pair_id
        and {{ dbt.date_trunc('hour', 'trades.executed_at') }} = changed_hours.candle_hour

),
{% else %}
    trades_to_build as (

        select * from trades

    ),
{% endif %}

taker_fills as (

    select
        trade_id,
        pair_id,
        symbol,
        base_asset,
        quote_asset,
        {{ dbt.date_trunc('hour', 'executed_at') }} as candle_hour,
        executed_at,
        price,
        quantity,
        notional,
        notional_usd,
        loaded_at
    from trades_to_build
    where is_maker = false

),

ranked as (

    select
        *,
        row_number() over (
            partition by pair_id, candle_hour order by executed_at asc, trade_id asc
        ) as rank_from_first,
        row_number() over (
            partition by pair_id, candle_hour order by executed_at desc, trade_id desc
        ) as rank_from_last
    from taker_fills

),

candles as (

    select
        pair_id,
        candle_hour,
        max(symbol) as symbol,
        max(base_asset) as base_asset,
        max(quote_asset) as quote_asset,
        max(case when rank_from_first = 1 then price end) as open_price,
        max(price) as high_price,
        min(price) as low_price,
        max(case when rank_from_last = 1 then price end) as close_price,
        sum(quantity) as volume,
        sum(notional) as quote_volume,
        sum(notional_usd) as volume_usd,
        count(*) as trade_count,
        min(executed_at) as first_trade_at,
        max(executed_at) as last_trade_at,
        max(loaded_at) as loaded_at
    from ranked
    group by pair_id, candle_hour

),

final as (

    select
        pair_id,
        symbol,
        base_asset,
        quote_asset,
        candle_hour,
        {{ to_day('candle_hour') }} as candle_date,
        open_price,
        high_price,
        low_price,
        close_price,
        volume,
        quote_volume,
        volume_usd,
        trade_count,
        first_trade_at,
        last_trade_at,
        loaded_at
    from candles

)

select * from final
