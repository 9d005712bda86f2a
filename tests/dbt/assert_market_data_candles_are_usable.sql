{{ config(severity='warn') }}
-- Every engine candle is possible (0 < low <= min(open, close), max(open, close) <= high) and
-- of the table's interval (docs/kpis.md#market-metrics). The candles stay in staging, flagged
-- (candle_quality_flag), so every model downstream can see them; this test lists them.

select
    pair_id,
    opened_at,
    candle_interval,
    open_price,
    high_price,
    low_price,
    close_price,
    candle_quality_flag,
    source_file
from {{ ref('stg_exchange__market_data_1h') }}
where not is_usable_candle
