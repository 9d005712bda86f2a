-- One row per first-trade cohort day (every day of data, zero-filled): cohort size, users
-- retained at 7 and 30 days and the retention rates of docs/kpis.md, beside their targets.
-- Retained at 7 days: a fill on any day in [cohort_date + 1, cohort_date + 7]; at 30 days,
-- [cohort_date + 1, cohort_date + 30]. A rate is NULL while its window has not ended by the
-- last day of data (an immature cohort), and NULL for an empty cohort.

with

dates as (

    select date_day from {{ ref('dim_dates') }}

),

retention as (

    select * from {{ ref('int_traders_retention_measured') }}

),

targets as (

    select * from {{ ref('kpi_targets') }}

),

last_day as (

    select max(date_day) as last_data_date from dates

),

cohorts as (

    select
        cohort_date,
        count(*) as cohort_size,
        count(case when is_retained_7d then 1 end) as retained_7d,
        count(case when is_retained_30d then 1 end) as retained_30d
    from retention
    group by cohort_date

),

target_values as (

    select
        max(case when metric = 'retention_7d_rate' then target_value end) as retention_7d_rate_target,
        max(case when metric = 'retention_30d_rate' then target_value end) as retention_30d_rate_target
    from targets

),

windows as (

    select
        dates.date_day as cohort_date,
        coalesce(cohorts.cohort_size, 0) as cohort_size,
        coalesce(cohorts.retained_7d, 0) as retained_7d,
        coalesce(cohorts.retained_30d, 0) as retained_30d,
        cast({{ dbt.dateadd('day', 7, 'dates.date_day') }} as date) <= last_day.last_data_date
            as is_7d_window_complete,
        cast({{ dbt.dateadd('day', 30, 'dates.date_day') }} as date) <= last_day.last_data_date
            as is_30d_window_complete
    from dates
    cross join last_day
    left join cohorts
        on dates.date_day = cohorts.cohort_date

),

final as (

    select
        windows.cohort_date,
        windows.cohort_size,
        windows.retained_7d,
        windows.is_7d_window_complete,
        case when windows.is_7d_window_complete
                then {{ safe_divide('windows.retained_7d', 'windows.cohort_size') }}
        end as retention_7d_rate,
        target_values.retention_7d_rate_target,
        windows.retained_30d,
        windows.is_30d_window_complete,
        case when windows.is_30d_window_complete
                then {{ safe_divide('windows.retained_30d', 'windows.cohort_size') }}
        end as retention_30d_rate,
        target_values.retention_30d_rate_target
    from windows
    cross join target_values

)

select * from final
