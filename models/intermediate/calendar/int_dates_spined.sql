-- One row per UTC day from the first to the last day of data: the first to the last day of
-- any event a daily KPI counts (docs/kpis.md: registrations, KYC approvals, orders, fills,
-- fee collections). Every daily series joins to this spine, so quiet days show zeros, and
-- registrations or KYC approvals before the first order (a launch week, a backfill that
-- begins with the users table) fall on a day of the spine. A KPI that counts a new kind of
-- event adds it to counted_events; tests/dbt/assert_daily_kpis_sum_to_source_counts.sql (and
-- tests/python/test_kpis_against_raw_files.py, on the landing files) check that every counted
-- event's daily sum equals its source count. has_trading_started marks the days from the
-- first fill, order or fee collection on: measures of trading history (the churn-risk prior
-- window, the churn model's cutoffs) start there, not at the first registration.

with

counted_events as (

    select min(executed_at) as first_at, max(executed_at) as last_at, true as is_trading
    from {{ ref('stg_exchange__trades') }}
    union all
    select min(placed_at), max(placed_at), true from {{ ref('stg_exchange__orders') }}
    union all
    select min(collected_at), max(collected_at), true from {{ ref('stg_exchange__fee_collections') }}
    union all
    select min(registered_at), max(registered_at), false from {{ ref('stg_exchange__users') }}
    union all
    -- Counted as fct_daily_exchange_kpis counts them: approved, with an approval time.
    select min(approved_at), max(approved_at), false from {{ ref('stg_exchange__user_kyc') }}
    where verification_status = 'approved'

),

bounds as (

    select
        {{ dbt.date_trunc('day', 'min(first_at)') }} as first_day,
        {{ dbt.date_trunc('day', 'max(last_at)') }} as last_day,
        {{ to_day('min(case when is_trading then first_at end)') }} as first_trading_day
    from counted_events

),

days as (

    {{ time_spine('bounds', 'first_day', 'last_day', 'day') }}

),

final as (

    select
        {{ to_day('spine_at') }} as date_day,
        cast({{ dbt.date_trunc('week', 'spine_at') }} as date) as week_start_date,
        cast({{ dbt.date_trunc('month', 'spine_at') }} as date) as month_start_date,
        {{ to_day('spine_at') }} = (select {{ to_day('max(spine_at)') }} from days) as is_last_day_of_data,
        coalesce({{ to_day('spine_at') }} >= (select first_trading_day from bounds), false) as has_trading_started
    from days

)

select * from final
