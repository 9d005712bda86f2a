{{ config(severity='warn') }}
-- Every candle series of market_data_1h is continuous at its interval
-- (docs/kpis.md#market-metrics): one row per gap, with its pair, interval, first and last missing
-- open time and length. Warns: a venue can be down, but a gap is never silent.

select
    pair_id,
    symbol,
    candle_interval,
    gap_start_at,
    gap_end_at,
    missing_intervals
from {{ ref('fct_market_data_gaps') }}
