{{ config(severity='warn') }}
-- Every fill candle matches the matching engine's candle (market_data_1h) of its pair and hour
-- within the tolerances of the `market metric thresholds` vars, and no candle is missing on
-- either side. Warns (never fails the build): the simulator plants discrepancies on purpose
-- (labelled in _simulator/planted_cases.csv) and the rows returned are exactly those.

select
    pair_id,
    symbol,
    candle_hour,
    discrepancy_type,
    max_abs_price_diff_bps,
    volume_diff,
    volume_diff_pct,
    trade_count_diff
from {{ ref('fct_candle_reconciliation_hourly') }}
where not is_within_tolerance
