-- A Dagster asset check of fct_pair_candles_daily (the test reads several models; orchestration/assets/dbt.py).
{{ config(meta={'dagster': {'ref': {'name': 'fct_pair_candles_daily'}}}) }}

-- The daily fill candles carry all the exchange's taker volume: per day, their USD volume adds
-- up to trading_volume_usd of fct_daily_exchange_kpis (within a rounding tolerance). Returns the
-- days where that fails.

with

candles as (

    select
        candle_date as date_day,
        sum(volume_usd) as candle_volume_usd
    from {{ ref('fct_pair_candles_daily') }}
    group by candle_date

),

kpis as (

    select
        kpi_date as date_day,
        trading_volume_usd
    from {{ ref('fct_daily_exchange_kpis') }}

)

select
    kpis.date_day,
    kpis.trading_volume_usd,
    candles.candle_volume_usd
from kpis
full outer join candles
    on kpis.date_day = candles.date_day
where abs(coalesce(kpis.trading_volume_usd, 0) - coalesce(candles.candle_volume_usd, 0))
    > 0.01 + 1e-9 * abs(coalesce(kpis.trading_volume_usd, 0))
