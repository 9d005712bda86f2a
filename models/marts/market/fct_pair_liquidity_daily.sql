-- One row per trading pair and UTC day (every day of data, every pair with an order-book
-- snapshot or a taker fill): spread, depth, volume, market share and realized volatility.
-- Spread statistics use the two-sided, uncrossed snapshots of the day; crossed and one-sided
-- snapshots are counted apart. Depth is averaged over the snapshots reporting it; the USD
-- depth values each snapshot's base-unit depth at its mid price times the quote asset's USD
-- rate of the hour (int_asset_usd_rates_hourly through usd_rate_join), so pairs compare.
-- Volume comes from the taker fills (fct_pair_candles_daily); volume_share is the pair's share
-- of the exchange's USD volume that day, as fct_pair_daily_performance states it (0 for a pair
-- without fills that day, NULL on a day without volume). realized_volatility = standard deviation of the
-- log returns between consecutive hourly closes of the matching engine's candles opened that
-- day, times sqrt(24): a daily volatility (not annualised), NULL with fewer than two returns.
-- Candles flagged in staging (impossible OHLC, another interval: docs/kpis.md#market-metrics) are
-- left out.

with

days as (

    select date_day from {{ ref('dim_dates') }}

),

pairs as (

    select * from {{ ref('stg_exchange__trading_pairs') }}

),

snapshots as (

    select * from {{ ref('int_order_book_snapshots_measured') }}

),

snapshots_valued as (

    select
        snapshots.*,
        (snapshots.bid_depth_1_percent + snapshots.ask_depth_1_percent)
        * snapshots.mid_price
        * quote_rates.usd_rate as total_depth_1_percent_usd
    from snapshots
    left join pairs
        on snapshots.pair_id = pairs.pair_id
    {{ usd_rate_join('quote_rates', 'pairs.quote_asset', 'snapshots.snapshot_hour') }}

),

daily_candles as (

    select * from {{ ref('fct_pair_candles_daily') }}

),

pair_performance as (

    select
        pair_id,
        date_day,
        trading_volume_usd,
        volume_share
    from {{ ref('fct_pair_daily_performance') }}

),

engine_candles as (

    select * from {{ ref('stg_exchange__market_data_1h') }}

),

book_daily as (

    select
        pair_id,
        snapshot_date as date_day,
        count(*) as snapshot_count,
        sum(case when is_two_sided then 1 else 0 end) as two_sided_snapshot_count,
        sum(case when is_crossed then 1 else 0 end) as crossed_snapshot_count,
        avg(case when is_two_sided and not is_crossed then spread_bps end) as avg_spread_bps,
        {{ percentile_cont('case when is_two_sided and not is_crossed then spread_bps end', 0.95) }}
            as p95_spread_bps,
        max(case when is_two_sided and not is_crossed then spread_bps end) as max_spread_bps,
        avg(bid_depth_1_percent) as avg_bid_depth_1_percent,
        avg(ask_depth_1_percent) as avg_ask_depth_1_percent,
        avg(bid_depth_1_percent + ask_depth_1_percent) as avg_total_depth_1_percent,
        avg(total_depth_1_percent_usd) as avg_total_depth_1_percent_usd
    from snapshots_valued
    group by pair_id, snapshot_date

),

consecutive_candles as (

    select
        pair_id,
        opened_at,
        close_price,
        lag(opened_at) over (partition by pair_id order by opened_at) as previous_opened_at,
        lag(close_price) over (partition by pair_id order by opened_at) as previous_close_price
    from engine_candles
    where close_price > 0
        and is_usable_candle  -- a flagged candle (docs/kpis.md#market-metrics) is no price to measure

),

hourly_returns as (

    select
        pair_id,
        {{ to_day('opened_at') }} as date_day,
        case
            when previous_opened_at = {{ dbt.dateadd('hour', -1, 'opened_at') }}
                then ln(cast(close_price as {{ type_double() }}) / previous_close_price)
        end as log_return
    from consecutive_candles

),

volatility_daily as (

    select
        pair_id,
        date_day,
        count(log_return) as hourly_return_count,
        stddev_samp(log_return) * sqrt(24) as realized_volatility
    from hourly_returns
    group by pair_id, date_day

),

active_pairs as (

    select distinct pair_id
    from (
        select pair_id from book_daily
        union all
        select pair_id from daily_candles
    ) as pair_ids

),

grid as (

    select
        days.date_day,
        pairs.pair_id,
        pairs.symbol,
        pairs.base_asset,
        pairs.quote_asset
    from days
    cross join pairs
    where pairs.pair_id in (select active_pairs.pair_id from active_pairs)

),

joined as (

    select
        grid.date_day,
        grid.pair_id,
        grid.symbol,
        grid.base_asset,
        grid.quote_asset,
        coalesce(book_daily.snapshot_count, 0) as snapshot_count,
        coalesce(book_daily.two_sided_snapshot_count, 0) as two_sided_snapshot_count,
        coalesce(book_daily.crossed_snapshot_count, 0) as crossed_snapshot_count,
        cast(book_daily.avg_spread_bps as {{ type_double() }}) as avg_spread_bps,
        cast(book_daily.p95_spread_bps as {{ type_double() }}) as p95_spread_bps,
        cast(book_daily.max_spread_bps as {{ type_double() }}) as max_spread_bps,
        cast(book_daily.avg_bid_depth_1_percent as {{ type_double() }}) as avg_bid_depth_1_percent,
        cast(book_daily.avg_ask_depth_1_percent as {{ type_double() }}) as avg_ask_depth_1_percent,
        cast(book_daily.avg_total_depth_1_percent as {{ type_double() }}) as avg_total_depth_1_percent,
        cast(book_daily.avg_total_depth_1_percent_usd as {{ type_double() }}) as avg_total_depth_1_percent_usd,
        coalesce(daily_candles.volume, 0) as base_volume,
        coalesce(daily_candles.quote_volume, 0) as quote_volume,
        coalesce(daily_candles.volume_usd, 0) as trading_volume_usd,
        coalesce(daily_candles.trade_count, 0) as trade_count,
        coalesce(volatility_daily.hourly_return_count, 0) as hourly_return_count,
        cast(volatility_daily.realized_volatility as {{ type_double() }}) as realized_volatility,
        pair_performance.volume_share as pair_volume_share,
        sum(pair_performance.trading_volume_usd) over (partition by grid.date_day) as exchange_volume_usd
    from grid
    left join book_daily
        on grid.pair_id = book_daily.pair_id
        and grid.date_day = book_daily.date_day
    left join daily_candles
        on grid.pair_id = daily_candles.pair_id
        and grid.date_day = daily_candles.candle_date
    left join volatility_daily
        on grid.pair_id = volatility_daily.pair_id
        and grid.date_day = volatility_daily.date_day
    left join pair_performance
        on grid.pair_id = pair_performance.pair_id
        and grid.date_day = pair_performance.date_day

),

final as (

    -- Money as DECIMAL (macro money, docs/architecture.md) and counts as bigint: the types of
    -- the contract (the model's YAML).
    select
        date_day,
        pair_id,
        symbol,
        base_asset,
        quote_asset,
        snapshot_count,
        cast(two_sided_snapshot_count as bigint) as two_sided_snapshot_count,
        cast(crossed_snapshot_count as bigint) as crossed_snapshot_count,
        avg_spread_bps,
        p95_spread_bps,
        max_spread_bps,
        avg_bid_depth_1_percent,
        avg_ask_depth_1_percent,
        avg_total_depth_1_percent,
        {{ money('avg_total_depth_1_percent_usd') }} as avg_total_depth_1_percent_usd,
        base_volume,
        quote_volume,
        {{ money('trading_volume_usd') }} as trading_volume_usd,
        trade_count,
        hourly_return_count,
        realized_volatility,
        {{ safe_divide('crossed_snapshot_count', 'snapshot_count') }} as crossed_snapshot_rate,
        -- A pair that never traded has no row in fct_pair_daily_performance: its share is 0 on a
        -- day the exchange traded, NULL (no share of nothing) on a day it did not.
        coalesce(pair_volume_share, case when exchange_volume_usd > 0 then 0 end) as volume_share
    from joined

)

select * from final
