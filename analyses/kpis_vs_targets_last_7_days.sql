-- The executive view: the last 7 days of the headline KPIs beside their targets
-- (targets from the kpi_targets seed; see the metrics dictionary, docs/metrics.md).
-- A `*_vs_target` ratio of 1.0 means on target; fill rate and revenue per trade are NULL on
-- a day without orders or fills.
-- dbt compile --select kpis_vs_targets_last_7_days

with

kpis as (

    select * from {{ ref('fct_daily_exchange_kpis') }}

),

last_day as (

    select max(kpi_date) as last_kpi_date from kpis

)

select
    kpis.kpi_date,
    kpis.active_traders,
    kpis.active_traders_target,
    {{ safe_divide('kpis.active_traders', 'kpis.active_traders_target') }} as active_traders_vs_target,
    kpis.trading_volume_usd,
    {{ safe_divide('kpis.trading_volume_usd', 'kpis.trading_volume_usd_target') }} as trading_volume_vs_target,
    kpis.revenue_usd,
    {{ safe_divide('kpis.revenue_usd', 'kpis.revenue_usd_target') }} as revenue_vs_target,
    kpis.revenue_per_trade_usd,
    kpis.fill_rate,
    kpis.fill_rate_target,
    kpis.churn_rate
from kpis
cross join last_day
-- The 7 days ending on the last day of data (not today: the data may lag the wall clock).
where kpis.kpi_date > cast({{ dbt.dateadd('day', -7, 'last_day.last_kpi_date') }} as date)
order by kpis.kpi_date desc
