{{
    config(
        materialized='incremental',
        unique_key='kpi_date',
        incremental_strategy=incremental_strategy(),
        on_schema_change='append_new_columns',
    )
}}

-- One row per UTC day from the first to the last day of data: every daily KPI of
-- docs/kpis.md, zero-filled, each beside its target from the kpi_targets seed.
--
-- Incremental: a run rebuilds the days from the first day touched by new rows to the last
-- day; earlier days keep their rows. A new fill, fee or order version only changes its own
-- day's counts and, through the running measures (traders to date, 30-day actives, churn),
-- later days, never earlier ones: a fill on day D starts a trader's history no later than D
-- and keeps the trader active on [D, D + 29]. The running measures are recomputed from the
-- activity spells (one row per user and spell), so the days kept are never read back.
-- Registrations and KYC approvals are dimension-sized: they are counted for every day and the
-- days whose count changed (a later user or KYC version) are rebuilt too.
-- Not tagged `incremental`: Dagster partitions that tag's models, and this one reads the
-- activity spells, which are downstream of the fills; it runs after them, unpartitioned.

with

days as (

    select date_day from {{ ref('dim_dates') }}

),

trades as {{ not_materialized() }} (

    select
        executed_date,
        user_id,
        is_maker,
        notional_usd,
        loaded_at
    from {{ ref('int_trades_valued') }}

),

fees as {{ not_materialized() }} (

    select
        collected_date,
        fee_type,
        fee_usd,
        loaded_at
    from {{ ref('int_fee_collections_valued') }}

),

orders as {{ not_materialized() }} (

    select
        placed_date,
        is_executed,
        loaded_at
    from {{ ref('fct_orders') }}

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

{% if is_incremental() %}
-- The days already built, with their dimension-sized counts.
stored as (

    select kpi_date, new_registrations, kyc_approvals from {{ this }}

),

-- Days whose registrations or KYC approvals differ from the stored ones (a later user or KYC
-- version), or that are not built yet.
changed_dimension_days as (

    select days.date_day
    from days
    left join daily_registrations on days.date_day = daily_registrations.date_day
    left join daily_kyc_approvals on days.date_day = daily_kyc_approvals.date_day
    left join stored on days.date_day = stored.kpi_date
    where stored.kpi_date is null
        or coalesce(daily_registrations.new_registrations, 0) <> stored.new_registrations
        or coalesce(daily_kyc_approvals.kyc_approvals, 0) <> stored.kyc_approvals

),

-- The first day to rebuild: the earliest event day among the rows loaded since the last
-- build, a changed dimension day, or a partitioned run's first day. NULL: nothing new. A
-- partitioned run reads the loaded rows too, as the partitioned facts do (macros/incremental.sql):
-- its window alone would move the watermark past rows loaded earlier for other days.
recompute_from as (

    select min(date_day) as first_day
    from (
        {% if is_partitioned_run() %}
        select cast('{{ var("min_date") }}' as date) as date_day
        union all
        {% endif %}
        select min(executed_date) as date_day from trades
        where loaded_at > {{ incremental_watermark('loaded_at') }}
        union all
        select min(collected_date) from fees
        where loaded_at > {{ incremental_watermark('loaded_at') }}
        union all
        select min(placed_date) from orders
        where loaded_at > {{ incremental_watermark('loaded_at') }}
        union all
        select min(date_day) from changed_dimension_days
    ) as first_days

),

{% endif %}
daily_trading as (

    select
        executed_date as date_day,
        count(distinct user_id) as active_traders,
        count(*) as trade_count,
        -- Each match counted once, on its taker side.
        sum(case when is_maker = false then notional_usd end) as trading_volume_usd,
        max(loaded_at) as loaded_at
    from trades
    {% if is_incremental() %}
    where executed_date >= (select first_day from recompute_from)
    {% endif %}
    group by executed_date

),

daily_fees as (

    select
        collected_date as date_day,
        sum(case when fee_type = 'trading_fee' then fee_usd end) as trading_fee_revenue_usd,
        sum(case when fee_type = 'withdrawal_fee' then fee_usd end) as withdrawal_fee_revenue_usd,
        sum(fee_usd) as revenue_usd,
        max(loaded_at) as loaded_at
    from fees
    {% if is_incremental() %}
    where collected_date >= (select first_day from recompute_from)
    {% endif %}
    group by collected_date

),

daily_orders as (

    select
        placed_date as date_day,
        count(*) as orders_placed,
        sum(case when is_executed then 1 else 0 end) as orders_executed,
        max(loaded_at) as loaded_at
    from orders
    {% if is_incremental() %}
    where placed_date >= (select first_day from recompute_from)
    {% endif %}
    group by placed_date

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
        select
            first_trade_date as date_day,
            1 as change
        from spells
        union all
        select
            cast({{ dbt.dateadd('day', 1, 'active_until_date') }} as date) as date_day,
            -1 as change
        from spells
    ) as changes
    group by date_day

),

-- The newest load among the rows counted on a day: the incremental watermark.
daily_loaded_at as (

    select
        date_day,
        max(loaded_at) as loaded_at
    from (
        select
            date_day,
            loaded_at
        from daily_trading
        union all
        select
            date_day,
            loaded_at
        from daily_fees
        union all
        select
            date_day,
            loaded_at
        from daily_orders
    ) as loads
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
        coalesce(activity_changes.active_change, 0) as active_change,
        daily_loaded_at.loaded_at
    from days
    left join daily_trading on days.date_day = daily_trading.date_day
    left join daily_fees on days.date_day = daily_fees.date_day
    left join daily_orders on days.date_day = daily_orders.date_day
    left join daily_registrations on days.date_day = daily_registrations.date_day
    left join daily_kyc_approvals on days.date_day = daily_kyc_approvals.date_day
    left join daily_first_traders on days.date_day = daily_first_traders.date_day
    left join activity_changes on days.date_day = activity_changes.date_day
    left join daily_loaded_at on days.date_day = daily_loaded_at.date_day

),

with_running_totals as (

    select
        *,
        sum(first_time_traders) over (order by date_day rows between unbounded preceding and current row)
            as traders_to_date,
        sum(active_change) over (order by date_day rows between unbounded preceding and current row)
            as active_traders_30d,
        sum(new_registrations) over (order by date_day rows between unbounded preceding and current row)
            as registered_users_to_date
    from joined

),

target_values as (

    select
        max(case when metric = 'active_traders' then target_value end) as active_traders_target,
        max(case when metric = 'trading_volume_usd' then target_value end) as trading_volume_usd_target,
        max(case when metric = 'revenue_usd' then target_value end) as revenue_usd_target,
        max(case when metric = 'revenue_per_trade_usd' then target_value end) as revenue_per_trade_usd_target,
        max(case when metric = 'fill_rate' then target_value end) as fill_rate_target,
        max(case when metric = 'active_traders' and scales_with_user_base then 1 else 0 end)
            as active_traders_scaled,
        max(case when metric = 'trading_volume_usd' and scales_with_user_base then 1 else 0 end)
            as trading_volume_usd_scaled,
        max(case when metric = 'revenue_usd' and scales_with_user_base then 1 else 0 end) as revenue_usd_scaled
    from targets

),

-- The design's targets are for its exchange; the size-dependent ones (DAU, volume, revenue)
-- are scaled to the registered users to date (var kpi_target_design_users; seed column
-- scales_with_user_base). A null or 0 var leaves every target as the design states it.
with_target_scale as (

    select
        with_running_totals.*,
        {% if var('kpi_target_design_users', none) %}
            {{ safe_divide('with_running_totals.registered_users_to_date', var('kpi_target_design_users')) }}
                as kpi_target_scale
        {% else %}
        cast(null as {{ type_double() }}) as kpi_target_scale
        {% endif %}
    from with_running_totals

),

final as (

    select
        with_running_totals.date_day as kpi_date,
        with_running_totals.active_traders,
        -- A size-dependent target times the day's scale when the seed says it scales.
        case
            when target_values.active_traders_scaled = 1 and with_running_totals.kpi_target_scale is not null
                then target_values.active_traders_target * with_running_totals.kpi_target_scale
            else target_values.active_traders_target
        end as active_traders_target,
        with_running_totals.trade_count,
        with_running_totals.trading_volume_usd,
        -- A size-dependent target times the day's scale when the seed says it scales.
        case
            when target_values.trading_volume_usd_scaled = 1 and with_running_totals.kpi_target_scale is not null
                then target_values.trading_volume_usd_target * with_running_totals.kpi_target_scale
            else target_values.trading_volume_usd_target
        end as trading_volume_usd_target,
        with_running_totals.trading_fee_revenue_usd,
        with_running_totals.withdrawal_fee_revenue_usd,
        with_running_totals.revenue_usd,
        -- A size-dependent target times the day's scale when the seed says it scales.
        case
            when target_values.revenue_usd_scaled = 1 and with_running_totals.kpi_target_scale is not null
                then target_values.revenue_usd_target * with_running_totals.kpi_target_scale
            else target_values.revenue_usd_target
        end as revenue_usd_target,
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
                       'with_running_totals.traders_to_date') }} as churn_rate,
        with_running_totals.registered_users_to_date,
        with_running_totals.kpi_target_scale,
        (
            with_running_totals.kpi_target_scale is not null
            and target_values.active_traders_scaled + target_values.trading_volume_usd_scaled
            + target_values.revenue_usd_scaled > 0
        ) as is_scaled_target,
        with_running_totals.loaded_at
    from with_target_scale as with_running_totals
    cross join target_values
    {% if is_incremental() %}
    where with_running_totals.date_day >= (select first_day from recompute_from)
    {% endif %}

)

-- Money as DECIMAL (macro money, docs/architecture.md) and counts as bigint: the types of
-- the contract (the model's YAML).
select
    kpi_date,
    active_traders,
    active_traders_target,
    trade_count,
    {{ money('trading_volume_usd') }} as trading_volume_usd,
    {{ money('trading_volume_usd_target') }} as trading_volume_usd_target,
    {{ money('trading_fee_revenue_usd') }} as trading_fee_revenue_usd,
    {{ money('withdrawal_fee_revenue_usd') }} as withdrawal_fee_revenue_usd,
    {{ money('revenue_usd') }} as revenue_usd,
    {{ money('revenue_usd_target') }} as revenue_usd_target,
    {{ money('revenue_per_trade_usd') }} as revenue_per_trade_usd,
    {{ money('revenue_per_trade_usd_target') }} as revenue_per_trade_usd_target,
    orders_placed,
    cast(orders_executed as bigint) as orders_executed,
    fill_rate,
    fill_rate_target,
    new_registrations,
    kyc_approvals,
    first_time_traders,
    cast(traders_to_date as bigint) as traders_to_date,
    cast(active_traders_30d as bigint) as active_traders_30d,
    cast(churned_traders as bigint) as churned_traders,
    churn_rate,
    cast(registered_users_to_date as bigint) as registered_users_to_date,
    kpi_target_scale,
    is_scaled_target,
    loaded_at
from final
