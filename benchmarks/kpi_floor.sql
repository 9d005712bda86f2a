-- The build floor: marts.fct_daily_exchange_kpis computed straight from the raw tables by one
-- hand-written DuckDB statement, as someone would write it without dbt, staging or intermediate
-- tables. It does the same work the mart needs: keeps one row per key (replayed fills and fees
-- once; the latest version of orders, users and KYC rows by updated_at), values fills and fees
-- in USD at the hour's rate (stablecoins 1.0, else the latest USDT candle close at or before the
-- hour), counts activity spells (a gap of more than 30 days ends one) and compares with targets.
-- {seeds} is replaced by the path of the dbt seeds folder. DuckDB SQL only: a benchmark, not a model.
create or replace temp table floor_daily_kpis as

with

stablecoins as (
    select asset, cast(usd_rate as double) as usd_rate
    from read_csv('{seeds}/stablecoins.csv', header = true)
),

targets as (
    select
        max(case when metric = 'active_traders' then target_value end) as active_traders_target,
        max(case when metric = 'trading_volume_usd' then target_value end) as trading_volume_usd_target,
        max(case when metric = 'revenue_usd' then target_value end) as revenue_usd_target,
        max(case when metric = 'revenue_per_trade_usd' then target_value end) as revenue_per_trade_usd_target,
        max(case when metric = 'fill_rate' then target_value end) as fill_rate_target
    from read_csv('{seeds}/kpi_targets.csv', header = true)
),

pairs as (
    select pair_id, arg_max(base_asset, _loaded_at) as base_asset, arg_max(quote_asset, _loaded_at) as quote_asset
    from raw.trading_pairs
    group by pair_id
),

candles as (
    select pairs.base_asset as asset, c.timestamp as rate_hour, any_value(cast(c.close_price as double)) as usd_rate
    from raw.market_data_1h as c
    inner join pairs on c.pair_id = pairs.pair_id
    where pairs.quote_asset = 'USDT'
    group by all
),

trades as (
    select
        trade_id,
        any_value(user_id) as user_id,
        any_value(pair_id) as pair_id,
        any_value(is_maker) as is_maker,
        any_value(quantity * price) as notional,
        any_value(executed_at) as executed_at
    from raw.trades
    group by trade_id
),

trades_hour as (
    select trades.*, pairs.quote_asset, date_trunc('hour', executed_at) as executed_hour
    from trades left join pairs on trades.pair_id = pairs.pair_id
),

trades_valued as (
    select
        t.user_id,
        cast(t.executed_at as date) as day,
        t.is_maker,
        cast(t.notional as double) * coalesce(s.usd_rate, r.usd_rate) as notional_usd
    from trades_hour as t
    left join stablecoins as s on t.quote_asset = s.asset
    asof left join candles as r on t.quote_asset = r.asset and t.executed_hour >= r.rate_hour
),

fees as (
    select
        fee_id,
        any_value(fee_type) as fee_type,
        any_value(fee_amount) as fee_amount,
        any_value(fee_asset) as fee_asset,
        any_value(date_trunc('hour', collected_at)) as collected_hour
    from raw.fee_collections
    group by fee_id
),

fees_valued as (
    select
        cast(f.collected_hour as date) as day,
        f.fee_type,
        cast(f.fee_amount as double) * coalesce(s.usd_rate, r.usd_rate) as fee_usd
    from fees as f
    left join stablecoins as s on f.fee_asset = s.asset
    asof left join candles as r on f.fee_asset = r.asset and f.collected_hour >= r.rate_hour
),

orders as (
    select order_id, min(created_at) as placed_at, arg_max(filled_quantity, updated_at) as filled_quantity
    from raw.orders
    group by order_id
),

users as (
    select user_id, arg_max(created_at, updated_at) as registered_at
    from raw.users
    group by user_id
),

kyc as (
    select
        user_id,
        arg_max(verification_status, updated_at) as verification_status,
        arg_max(approved_at, updated_at) as approved_at
    from raw.user_kyc
    group by user_id
),

daily_trading as (
    select
        day,
        count(distinct user_id) as active_traders,
        count(*) as trade_count,
        sum(case when not is_maker then notional_usd end) as trading_volume_usd
    from trades_valued
    group by day
),

daily_fees as (
    select
        day,
        sum(case when fee_type = 'trading_fee' then fee_usd end) as trading_fee_revenue_usd,
        sum(case when fee_type = 'withdrawal_fee' then fee_usd end) as withdrawal_fee_revenue_usd,
        sum(fee_usd) as revenue_usd
    from fees_valued
    group by day
),

daily_orders as (
    select
        cast(placed_at as date) as day,
        count(*) as orders_placed,
        count(*) filter (where filled_quantity > 0) as orders_executed
    from orders
    group by day
),

daily_registrations as (
    select cast(registered_at as date) as day, count(*) as new_registrations from users group by day
),

daily_kyc as (
    select cast(approved_at as date) as day, count(*) as kyc_approvals
    from kyc
    where verification_status = 'approved' and approved_at is not null
    group by day
),

-- Activity spells: runs of a user's fill days with gaps of at most 30 days; a spell keeps the
-- user active from its first fill day to 29 days after its last.
user_days as (
    select distinct user_id, day from trades_valued
),

spell_starts as (
    select
        user_id,
        day,
        case when day - lag(day) over (partition by user_id order by day) <= 30 then 0 else 1 end as starts_spell
    from user_days
),

spells as (
    select user_id, spell, min(day) as first_day, max(day) + 29 as active_until
    from (
        select user_id, day, sum(starts_spell) over (partition by user_id order by day) as spell
        from spell_starts
    )
    group by user_id, spell
),

daily_first as (
    select first_day as day, count(*) as first_time_traders from spells where spell = 1 group by day
),

activity_changes as (
    select day, sum(change) as active_change
    from (
        select first_day as day, 1 as change from spells
        union all
        select active_until + 1, -1 from spells
    )
    group by day
),

bounds as (
    -- every event a daily KPI counts, registrations and KYC approvals too (as dim_dates)
    select min(day) as first_day, max(day) as last_day
    from (
        select day from daily_trading
        union all select day from daily_orders
        union all select day from daily_fees
        union all select day from daily_registrations
        union all select day from daily_kyc
    )
),

days as (
    select cast(d as date) as day
    from bounds, range(bounds.first_day, bounds.last_day + interval 1 day, interval 1 day) as t(d)
),

joined as (
    select
        days.day as kpi_date,
        coalesce(t.active_traders, 0) as active_traders,
        coalesce(t.trade_count, 0) as trade_count,
        coalesce(t.trading_volume_usd, 0) as trading_volume_usd,
        coalesce(f.trading_fee_revenue_usd, 0) as trading_fee_revenue_usd,
        coalesce(f.withdrawal_fee_revenue_usd, 0) as withdrawal_fee_revenue_usd,
        coalesce(f.revenue_usd, 0) as revenue_usd,
        coalesce(o.orders_placed, 0) as orders_placed,
        coalesce(o.orders_executed, 0) as orders_executed,
        coalesce(r.new_registrations, 0) as new_registrations,
        coalesce(k.kyc_approvals, 0) as kyc_approvals,
        coalesce(ft.first_time_traders, 0) as first_time_traders,
        sum(coalesce(ft.first_time_traders, 0)) over (order by days.day) as traders_to_date,
        sum(coalesce(a.active_change, 0)) over (order by days.day) as active_traders_30d
    from days
    left join daily_trading as t on days.day = t.day
    left join daily_fees as f on days.day = f.day
    left join daily_orders as o on days.day = o.day
    left join daily_registrations as r on days.day = r.day
    left join daily_kyc as k on days.day = k.day
    left join daily_first as ft on days.day = ft.day
    left join activity_changes as a on days.day = a.day
)

select
    joined.kpi_date,
    joined.active_traders,
    targets.active_traders_target,
    joined.trade_count,
    joined.trading_volume_usd,
    targets.trading_volume_usd_target,
    joined.trading_fee_revenue_usd,
    joined.withdrawal_fee_revenue_usd,
    joined.revenue_usd,
    targets.revenue_usd_target,
    joined.trading_fee_revenue_usd / nullif(joined.trade_count, 0) as revenue_per_trade_usd,
    targets.revenue_per_trade_usd_target,
    joined.orders_placed,
    joined.orders_executed,
    joined.orders_executed / nullif(joined.orders_placed, 0) as fill_rate,
    targets.fill_rate_target,
    joined.new_registrations,
    joined.kyc_approvals,
    joined.first_time_traders,
    joined.traders_to_date,
    joined.active_traders_30d,
    joined.traders_to_date - joined.active_traders_30d as churned_traders,
    (joined.traders_to_date - joined.active_traders_30d) / nullif(joined.traders_to_date, 0) as churn_rate
from joined cross join targets
