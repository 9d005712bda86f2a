-- One row per calendar month of data: revenue, growth, revenue and share by tier, and the
-- monthly churn rate (docs/kpis.md), each beside its target.

with

days as (

    select * from {{ ref('dim_dates') }}

),

daily as (

    select * from {{ ref('fct_daily_exchange_kpis') }}

),

tier_revenue as (

    select * from {{ ref('rpt_monthly_revenue_by_tier') }}

),

spells as (

    select * from {{ ref('int_user_activity_spells') }}

),

targets as (

    select * from {{ ref('kpi_targets') }}

),

months as (

    select
        month_start_date,
        min(date_day) as first_data_date,
        max(date_day) as last_data_date,
        count(*) as days_with_data,
        -- The churn check falls on the month's last day, or the last day of data if earlier.
        cast({{ dbt.dateadd('day', -1, 'month_start_date') }} as date) as day_before_month,
        max(date_day) as churn_check_date,
        max(date_day) = cast({{ dbt.last_day('month_start_date', 'month') }} as date) as is_complete_month
    from days
    group by month_start_date

),

monthly_revenue as (

    select
        cast({{ dbt.date_trunc('month', 'kpi_date') }} as date) as month_start_date,
        sum(revenue_usd) as revenue_usd,
        sum(trading_fee_revenue_usd) as trading_fee_revenue_usd,
        sum(withdrawal_fee_revenue_usd) as withdrawal_fee_revenue_usd,
        sum(trading_volume_usd) as trading_volume_usd,
        sum(trade_count) as trade_count
    from daily
    group by cast({{ dbt.date_trunc('month', 'kpi_date') }} as date)

),

-- Growth compares with the previous calendar month, joined by date (not the previous row):
-- a month missing from the data gives NULL growth, never a comparison with an older month.
with_previous as (

    select
        monthly_revenue.*,
        previous.revenue_usd as previous_month_revenue_usd
    from monthly_revenue
    left join monthly_revenue as previous
        on previous.month_start_date
        = cast({{ dbt.dateadd('month', -1, 'monthly_revenue.month_start_date') }} as date)

),

revenue_by_tier as (

    select
        month_start_date,
        sum(case when lower(tier_name) = 'basic' then revenue_usd else 0 end) as basic_revenue_usd,
        sum(case when lower(tier_name) = 'pro' then revenue_usd else 0 end) as pro_revenue_usd,
        sum(case when lower(tier_name) = 'vip' then revenue_usd else 0 end) as vip_revenue_usd
    from tier_revenue
    group by month_start_date

),

active_at_month_start as (

    select distinct
        months.month_start_date,
        spells.user_id
    from months
    inner join spells
        on months.day_before_month between spells.first_trade_date and spells.active_until_date

),

active_at_check_date as (

    select distinct
        months.month_start_date,
        spells.user_id
    from months
    inner join spells
        on months.churn_check_date between spells.first_trade_date and spells.active_until_date

),

monthly_churn as (

    select
        starters.month_start_date,
        count(*) as active_users_at_month_start,
        sum(case when still_active.user_id is null then 1 else 0 end) as churned_users_by_month_end
    from active_at_month_start as starters
    left join active_at_check_date as still_active
        on starters.month_start_date = still_active.month_start_date
        and starters.user_id = still_active.user_id
    group by starters.month_start_date

),

target_values as (

    select
        max(case when metric = 'revenue_growth_pct' then target_value end) as revenue_growth_pct_target,
        max(case when metric = 'monthly_churn_rate' then target_value end) as monthly_churn_rate_target
    from targets

),

final as (

    select
        months.month_start_date,
        months.first_data_date,
        months.last_data_date,
        months.days_with_data,
        months.is_complete_month,
        monthly_revenue.revenue_usd,
        monthly_revenue.trading_fee_revenue_usd,
        monthly_revenue.withdrawal_fee_revenue_usd,
        monthly_revenue.trading_volume_usd,
        monthly_revenue.trade_count,
        monthly_revenue.previous_month_revenue_usd,
        -- NULL for the first month, a missing previous month or one without revenue.
        100 * {{ safe_divide(
            'monthly_revenue.revenue_usd - monthly_revenue.previous_month_revenue_usd',
            'monthly_revenue.previous_month_revenue_usd') }} as revenue_growth_pct,
        target_values.revenue_growth_pct_target,
        revenue_by_tier.basic_revenue_usd,
        revenue_by_tier.pro_revenue_usd,
        revenue_by_tier.vip_revenue_usd,
        {{ safe_divide('revenue_by_tier.basic_revenue_usd', 'monthly_revenue.revenue_usd') }} as basic_revenue_share,
        {{ safe_divide('revenue_by_tier.pro_revenue_usd', 'monthly_revenue.revenue_usd') }} as pro_revenue_share,
        {{ safe_divide('revenue_by_tier.vip_revenue_usd', 'monthly_revenue.revenue_usd') }} as vip_revenue_share,
        coalesce(monthly_churn.active_users_at_month_start, 0) as active_users_at_month_start,
        coalesce(monthly_churn.churned_users_by_month_end, 0) as churned_users_by_month_end,
        {{ safe_divide('monthly_churn.churned_users_by_month_end', 'monthly_churn.active_users_at_month_start') }}
            as monthly_churn_rate,
        target_values.monthly_churn_rate_target
    from months
    left join with_previous as monthly_revenue on months.month_start_date = monthly_revenue.month_start_date
    left join revenue_by_tier on months.month_start_date = revenue_by_tier.month_start_date
    left join monthly_churn on months.month_start_date = monthly_churn.month_start_date
    cross join target_values

)

-- Money as DECIMAL (macro money, docs/architecture.md) and counts as bigint: the types of
-- the contract (the model's YAML).
select
    month_start_date,
    first_data_date,
    last_data_date,
    days_with_data,
    is_complete_month,
    {{ money('revenue_usd') }} as revenue_usd,
    {{ money('trading_fee_revenue_usd') }} as trading_fee_revenue_usd,
    {{ money('withdrawal_fee_revenue_usd') }} as withdrawal_fee_revenue_usd,
    {{ money('trading_volume_usd') }} as trading_volume_usd,
    cast(trade_count as bigint) as trade_count,
    {{ money('previous_month_revenue_usd') }} as previous_month_revenue_usd,
    revenue_growth_pct,
    revenue_growth_pct_target,
    {{ money('basic_revenue_usd') }} as basic_revenue_usd,
    {{ money('pro_revenue_usd') }} as pro_revenue_usd,
    {{ money('vip_revenue_usd') }} as vip_revenue_usd,
    basic_revenue_share,
    pro_revenue_share,
    vip_revenue_share,
    active_users_at_month_start,
    cast(churned_users_by_month_end as bigint) as churned_users_by_month_end,
    monthly_churn_rate,
    monthly_churn_rate_target
from final
