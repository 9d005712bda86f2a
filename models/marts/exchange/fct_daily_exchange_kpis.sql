-- One row per UTC day from the first to the last day of data: every daily KPI of SPEC
-- section 4, zero-filled, each beside its target from the kpi_targets seed.

with

days as (

    select date_day from {{ ref('dim_dates') }}

),

trades as (

    select * from {{ ref('int_trades_valued') }}

),

fees as (

    select * from {{ ref('int_fee_collections_valued') }}

),

orders as (

    select * from {{ ref('stg_exchange__orders') }}

),

users as (

    select * from {{ ref('stg_exchange__users') }}

),

kyc as (

    select * from {{ ref('stg_exchange__user_kyc') }}

),

spells as (

    select * from {{ ref('int_user_activity_spells') }}

),

targets as (

    select * from {{ ref('kpi_targets') }}

),

daily_trading as (

    select
        executed_date as date_day,
        count(distinct user_id) as active_traders,
        count(*) as trade_count,
        -- Each match counted once, on its taker side.
        sum(case when is_maker = false then notional_usd end) as trading_volume_usd
    from trades
    group by executed_date

),

daily_fees as (

    select
        collected_date as date_day,
        sum(case when fee_type = 'trading_fee' then fee_usd end) as trading_fee_revenue_usd,
        sum(case when fee_type = 'withdrawal_fee' then fee_usd end) as withdrawal_fee_revenue_usd,
        sum(fee_usd) as revenue_usd
    from fees
    group by collected_date

),

daily_orders as (

    select
        {{ to_day('placed_at') }} as date_day,
        count(*) as orders_placed,
        sum(case when filled_quantity > 0 then 1 else 0 end) as orders_executed
    from orders
    group by {{ to_day('placed_at') }}

),

daily_registrations as (

    select
        {{ to_day('registered_at') }} as date_day,
        count(*) as new_registrations
    from users
    group by {{ to_day('registered_at') }}

),

daily_kyc_approvals as (

    select
        {{ to_day('approved_at') }} as date_day,
        count(*) as kyc_approvals
    from kyc
    where verification_status = 'approved'
        and approved_at is not null
    group by {{ to_day('approved_at') }}

),

daily_first_traders as (

    select
        first_trade_date as date_day,
        count(*) as first_time_traders
    from spells
    where spell_number = 1
    group by first_trade_date

),

-- A spell keeps its user active from its first fill day through active_until_date:
-- +1 on the first day, -1 the day after; a running sum gives users active on each day.
activity_changes as (

    select
        date_day,
        sum(change) as active_change
    from (
        select first_trade_date as date_day, 1 as change from spells
        union all
        select cast({{ dbt.dateadd('day', 1, 'active_until_date') }} as date), -1 from spells
    ) as changes
    group by date_day

),

joined as (

    select
        days.date_day,
        coalesce(daily_trading.active_traders, 0) as active_traders,
        coalesce(daily_trading.trade_count, 0) as trade_count,
        coalesce(daily_trading.trading_volume_usd, 0) as trading_volume_usd,
        coalesce(daily_fees.trading_fee_revenue_usd, 0) as trading_fee_revenue_usd,
        coalesce(daily_fees.withdrawal_fee_revenue_usd, 0) as withdrawal_fee_revenue_usd,
        coalesce(daily_fees.revenue_usd, 0) as revenue_usd,
        coalesce(daily_orders.orders_placed, 0) as orders_placed,
        coalesce(daily_orders.orders_executed, 0) as orders_executed,
        coalesce(daily_registrations.new_registrations, 0) as new_registrations,
        coalesce(daily_kyc_approvals.kyc_approvals, 0) as kyc_approvals,
        coalesce(daily_first_traders.first_time_traders, 0) as first_time_traders,
        coalesce(activity_changes.active_change, 0) as active_change
    from days
    left join daily_trading on days.date_day = daily_trading.date_day
    left join daily_fees on days.date_day = daily_fees.date_day
    left join daily_orders on days.date_day = daily_orders.date_day
    left join daily_registrations on days.date_day = daily_registrations.date_day
    left join daily_kyc_approvals on days.date_day = daily_kyc_approvals.date_day
    left join daily_first_traders on days.date_day = daily_first_traders.date_day
    left join activity_changes on days.date_day = activity_changes.date_day

),

with_running_totals as (

    select
        *,
        sum(first_time_traders) over (order by date_day rows between unbounded preceding and current row)
            as traders_to_date,
        sum(active_change) over (order by date_day rows between unbounded preceding and current row)
            as active_traders_30d
    from joined

),

target_values as (

    select
        max(case when metric = 'active_traders' then target_value end) as active_traders_target,
        max(case when metric = 'trading_volume_usd' then target_value end) as trading_volume_usd_target,
        max(case when metric = 'revenue_usd' then target_value end) as revenue_usd_target,
        max(case when metric = 'revenue_per_trade_usd' then target_value end) as revenue_per_trade_usd_target,
        max(case when metric = 'fill_rate' then target_value end) as fill_rate_target
    from targets

),

final as (

    select
        with_running_totals.date_day as kpi_date,
        with_running_totals.active_traders,
        target_values.active_traders_target,
        with_running_totals.trade_count,
        with_running_totals.trading_volume_usd,
        target_values.trading_volume_usd_target,
        with_running_totals.trading_fee_revenue_usd,
        with_running_totals.withdrawal_fee_revenue_usd,
        with_running_totals.revenue_usd,
        target_values.revenue_usd_target,
        {{ safe_divide('with_running_totals.trading_fee_revenue_usd', 'with_running_totals.trade_count') }}
            as revenue_per_trade_usd,
        target_values.revenue_per_trade_usd_target,
        with_running_totals.orders_placed,
        with_running_totals.orders_executed,
        {{ safe_divide('with_running_totals.orders_executed', 'with_running_totals.orders_placed') }} as fill_rate,
        target_values.fill_rate_target,
        with_running_totals.new_registrations,
        with_running_totals.kyc_approvals,
        with_running_totals.first_time_traders,
        with_running_totals.traders_to_date,
        with_running_totals.active_traders_30d,
        with_running_totals.traders_to_date - with_running_totals.active_traders_30d as churned_traders,
        {{ safe_divide('with_running_totals.traders_to_date - with_running_totals.active_traders_30d',
                       'with_running_totals.traders_to_date') }} as churn_rate
    from with_running_totals
    cross join target_values

)

select * from final
