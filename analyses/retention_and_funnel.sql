-- Acquisition health in one table: per registration month, the funnel (registered -> KYC
-- approved -> first trade) against its targets (85% and 70%), and the average 7- and 30-day
-- retention of the first-trade cohorts of that month whose window has ended.
-- dbt compile --select retention_and_funnel

with

funnel as (

    select * from {{ ref('fct_registration_funnel_monthly') }}

),

cohorts as (

    select * from {{ ref('fct_retention_cohorts_daily') }}

),

cohort_months as (

    select
        cast({{ dbt.date_trunc('month', 'cohort_date') }} as date) as cohort_month,
        sum(cohort_size) as first_time_traders,
        -- Weighted by cohort size; cohorts whose window is still open are left out (NULL).
        {{ safe_divide(
            'sum(case when is_7d_window_complete then retained_7d end)',
            'sum(case when is_7d_window_complete then cohort_size end)'
        ) }} as retention_7d_rate,
        {{ safe_divide(
            'sum(case when is_30d_window_complete then retained_30d end)',
            'sum(case when is_30d_window_complete then cohort_size end)'
        ) }} as retention_30d_rate
    from cohorts
    group by cast({{ dbt.date_trunc('month', 'cohort_date') }} as date)

)

select
    funnel.registration_month,
    funnel.registered,
    funnel.kyc_approved,
    funnel.first_traded,
    funnel.registration_to_kyc_pct,
    funnel.registration_to_kyc_pct_target,
    funnel.kyc_to_first_trade_pct,
    funnel.kyc_to_first_trade_pct_target,
    cohort_months.first_time_traders,
    cohort_months.retention_7d_rate,
    cohort_months.retention_30d_rate
from funnel
left join cohort_months
    on funnel.registration_month = cohort_months.cohort_month
order by funnel.registration_month desc
