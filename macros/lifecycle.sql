{#- Helpers of the lifecycle and anomaly models (models/*/lifecycle). -#}

{#- A retention cohort table at one period grain ('week' or 'month'): one row per first-trade
    cohort period and each period since, from the cohort's own period (0) to the period of the
    last day of data, zero-filled. Reads int_traders_periods_indexed and dim_dates. -#}
{% macro lifecycle_cohort_table(period_grain) -%}

with

periods_indexed as (

    select * from {{ ref('int_traders_periods_indexed') }}
    where period_grain = '{{ period_grain }}'

),

dates as (

    select * from {{ ref('dim_dates') }}

),

last_day as (

    select max(date_day) as last_data_date from dates

),

calendar_periods as (

    select distinct
        cast({{ dbt.date_trunc(period_grain, 'date_day') }} as date) as period_start_date
    from dates

),

cohorts as (

    select
        cohort_period_start_date,
        count(distinct user_id) as cohort_size
    from periods_indexed
    group by cohort_period_start_date

),

-- Every cohort meets every period from its own to the last period of data.
grid as (

    select
        cohorts.cohort_period_start_date,
        cohorts.cohort_size,
        calendar_periods.period_start_date
    from cohorts
    inner join calendar_periods
        on calendar_periods.period_start_date >= cohorts.cohort_period_start_date

),

active_users as (

    select
        cohort_period_start_date,
        activity_period_start_date,
        count(distinct user_id) as active_users
    from periods_indexed
    group by cohort_period_start_date, activity_period_start_date

),

final as (

    select
        grid.cohort_period_start_date,
        grid.period_start_date,
        {% if period_grain == 'week' -%}
        cast({{ dbt.datediff('grid.cohort_period_start_date', 'grid.period_start_date', 'day') }} / 7 as integer)
        {%- else -%}
        cast({{ dbt.datediff('grid.cohort_period_start_date', 'grid.period_start_date', 'month') }} as integer)
        {%- endif %} as periods_since_first_trade,
        grid.cohort_size,
        coalesce(active_users.active_users, 0) as active_users,
        {{ safe_divide('coalesce(active_users.active_users, 0)', 'grid.cohort_size') }} as active_share,
        -- The period has ended by the last day of data; a period still running shows a share
        -- that can only grow.
        cast({{ dbt.dateadd(period_grain, 1, 'grid.period_start_date') }} as date) <= cast({{ dbt.dateadd('day', 1, 'last_day.last_data_date') }} as date)
            as is_period_complete
    from grid
    cross join last_day
    left join active_users
        on grid.cohort_period_start_date = active_users.cohort_period_start_date
        and grid.period_start_date = active_users.activity_period_start_date

)

select * from final

{%- endmacro %}
