-- Market quality on the last day of data: every pair's spread, depth, volume and market
-- share, the widest spreads first. A crossed book (ask <= bid) is a data or matching-engine
-- problem: crossed_snapshot_count > 0 deserves a ticket.
-- Definitions: docs/metrics.md (market_spread_bps, market_depth_1_percent, market_volume_share).
-- dbt compile --select pair_liquidity_watchlist

with

liquidity as (

    select * from {{ ref('fct_pair_liquidity_daily') }}

),

last_day as (

    select max(date_day) as last_date from liquidity

)

select
    liquidity.date_day,
    liquidity.symbol,
    liquidity.avg_spread_bps,
    liquidity.p95_spread_bps,
    liquidity.avg_total_depth_1_percent,
    liquidity.trading_volume_usd,
    liquidity.volume_share,
    liquidity.realized_volatility,
    liquidity.crossed_snapshot_count
from liquidity
inner join last_day
    on liquidity.date_day = last_day.last_date
order by liquidity.avg_spread_bps desc nulls last, liquidity.symbol asc
