-- One row per calendar month and fee tier: trading fee revenue over taker volume (the effective
-- fee rate) beside the tier's list taker rate, and the tier's revenue share against its target
-- (issue 20 item 3; docs/kpis.md). Fills are attributed to the tier the user had at the fill,
-- as fees are in rpt_monthly_revenue_by_tier.

with

trades as (

    select * from {{ ref('fct_trades') }}

),

tier_history as (

    select * from {{ ref('int_user_tier_history') }}

),

users as (

    select
        user_id,
        tier_id
    from {{ ref('stg_exchange__users') }}

),

tiers as (

    select * from {{ ref('dim_user_tiers') }}

),

revenue_by_tier as (

    select * from {{ ref('rpt_monthly_revenue_by_tier') }}

),

trades_with_tier as (

    select
        cast({{ dbt.date_trunc('month', 'trades.executed_date') }} as date) as month_start_date,
        -- The tier at the fill; the current tier where no history covers it.
        coalesce(tier_history.tier_id, users.tier_id) as tier_id,
        trades.is_maker,
        trades.notional_usd,
        trades.fee_usd
    from trades
    left join tier_history
        on trades.user_id = tier_history.user_id
        and (tier_history.valid_from is null or trades.executed_at >= tier_history.valid_from)
        and (tier_history.valid_to is null or trades.executed_at < tier_history.valid_to)
    left join users
        on trades.user_id = users.user_id

),

tier_fills as (

    select
        month_start_date,
        tier_id,
        sum(case when not is_maker then notional_usd else 0 end) as taker_volume_usd,
        sum(case when is_maker then notional_usd else 0 end) as maker_volume_usd,
        sum(case when not is_maker then fee_usd else 0 end) as taker_fee_usd,
        sum(fee_usd) as trading_fee_revenue_usd
    from trades_with_tier
    group by month_start_date, tier_id

),

final as (

    select
        revenue_by_tier.month_start_date,
        revenue_by_tier.tier_id,
        revenue_by_tier.tier_name,
        coalesce(tier_fills.taker_volume_usd, 0) as taker_volume_usd,
        coalesce(tier_fills.maker_volume_usd, 0) as maker_volume_usd,
        coalesce(tier_fills.taker_fee_usd, 0) as taker_fee_usd,
        coalesce(tier_fills.trading_fee_revenue_usd, 0) as trading_fee_revenue_usd,
        {{ safe_divide('tier_fills.trading_fee_revenue_usd', 'tier_fills.taker_volume_usd') }}
            as effective_fee_rate,
        {{ safe_divide('tier_fills.taker_fee_usd', 'tier_fills.taker_volume_usd') }}
            as realised_taker_fee_rate,
        tiers.trading_fee_rate as list_taker_fee_rate,
        revenue_by_tier.revenue_usd,
        revenue_by_tier.revenue_share,
        revenue_by_tier.revenue_share_target,
        revenue_by_tier.revenue_share - revenue_by_tier.revenue_share_target
            as revenue_share_gap
    from revenue_by_tier
    left join tier_fills
        on revenue_by_tier.month_start_date = tier_fills.month_start_date
        and revenue_by_tier.tier_id = tier_fills.tier_id
    left join tiers
        on revenue_by_tier.tier_id = tiers.tier_id

)

-- Money as DECIMAL (macro money, docs/architecture.md) and counts as bigint: the types of
-- the contract (the model's YAML).
select
    month_start_date,
    tier_id,
    tier_name,
    {{ money('taker_volume_usd') }} as taker_volume_usd,
    {{ money('maker_volume_usd') }} as maker_volume_usd,
    {{ money('taker_fee_usd') }} as taker_fee_usd,
    {{ money('trading_fee_revenue_usd') }} as trading_fee_revenue_usd,
    effective_fee_rate,
    realised_taker_fee_rate,
    list_taker_fee_rate,
    {{ money('revenue_usd') }} as revenue_usd,
    revenue_share,
    revenue_share_target,
    revenue_share_gap
from final
