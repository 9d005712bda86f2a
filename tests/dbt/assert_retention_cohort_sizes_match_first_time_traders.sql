-- A Dagster asset check of fct_retention_cohorts_daily (the test reads several models; orchestration/assets/dbt.py).
{{ config(meta={'dagster': {'ref': {'name': 'fct_retention_cohorts_daily'}}}) }}

-- Every first-time trader lands in exactly one retention cohort: per day, cohort_size of
-- fct_retention_cohorts_daily equals first_time_traders of fct_daily_exchange_kpis, and the
-- cohorts add up to the traders of dim_user_trading_activity. Returns the days (or the total)
-- that differ.

with

cohorts as (

    select
        cohort_date as date_day,
        cohort_size
    from {{ ref('fct_retention_cohorts_daily') }}

),

kpis as (

    select
        kpi_date as date_day,
        first_time_traders
    from {{ ref('fct_daily_exchange_kpis') }}

),

per_day as (

    select
        coalesce(cohorts.date_day, kpis.date_day) as date_day,
        cohorts.cohort_size,
        kpis.first_time_traders
    from cohorts
    full outer join kpis
        on cohorts.date_day = kpis.date_day
    where coalesce(cohorts.cohort_size, -1) <> coalesce(kpis.first_time_traders, -1)

),

totals as (

    select
        cast(null as date) as date_day,
        (select sum(cohort_size) from cohorts) as cohort_size,
        (select count(*) from {{ ref('dim_user_trading_activity') }}) as first_time_traders

)

select * from per_day
union all
select * from totals
where cohort_size <> first_time_traders
