-- Candles from fills (hourly and daily) hold the OHLC invariants of docs/kpis.md#market-metrics:
-- low <= least(open, close), greatest(open, close) <= high, every price > 0, volume >= 0,
-- at least one fill. Returns the offending candles.

with

hourly as (

    select
        'hourly' as candle_grain,
        pair_id,
        candle_hour as candle_start,
        open_price,
        high_price,
        low_price,
        close_price,
        volume,
        trade_count
    from {{ ref('fct_pair_candles_hourly') }}

),

daily as (

    select
        'daily' as candle_grain,
        pair_id,
        cast(candle_date as timestamp) as candle_start,
        open_price,
        high_price,
        low_price,
        close_price,
        volume,
        trade_count
    from {{ ref('fct_pair_candles_daily') }}

),

candles as (

    select * from hourly
    union all
    select * from daily

)

select *
from candles
where not coalesce(
    low_price <= least(open_price, close_price)
    and greatest(open_price, close_price) <= high_price
    and open_price > 0
    and high_price > 0
    and low_price > 0
    and close_price > 0
    and volume >= 0
    and trade_count > 0,
    false
)
