-- One row per user whose balance sits near a fee-tier boundary on the last day of data: within
-- tier_boundary_band (default 20%) below the next tier's minimum balance (an upgrade, which
-- lowers their fee rate) or within it above, or under, their own tier's minimum (a downgrade).
-- The user_tiers source defines tiers by minimum balance only (no volume thresholds), so the
-- balance is the boundary. Revenue at stake: the user's fees of the last 30 days, and the
-- change in taker fees a move would bring at the same taker volume (issue 20 item 3).

{% set band = var('tier_boundary_band', 0.2) %}

with

ledger_ends as (

    select * from {{ ref('int_ledger_end_balances') }}

),

rates as (

    select * from {{ ref('int_asset_usd_rates_hourly') }}

),

trades as (

    select * from {{ ref('fct_trades') }}

),

fees as (

    select * from {{ ref('fct_fee_collections') }}

),

users as (

    select * from {{ ref('dim_users') }}

),

tiers as (

    select * from {{ ref('dim_user_tiers') }}

),

-- Each tier with the tiers just below and above it by minimum balance.
tier_ladder as (

    select
        tier_id,
        tier_name,
        trading_fee_rate,
        minimum_balance_requirement_usd,
        lead(tier_id) over (order by minimum_balance_requirement_usd, tier_id) as next_tier_id,
        lag(tier_id) over (order by minimum_balance_requirement_usd, tier_id) as previous_tier_id
    from tiers

),

latest_rates as (

    select
        asset,
        usd_rate,
        row_number() over (partition by asset order by rate_hour desc) as recency_rank
    from rates

),

-- Each ledger's end balance (its chain's end, int_ledger_end_balances) at the latest rate.
balances as (

    select
        ledger_ends.user_id,
        sum(ledger_ends.balance_after * latest_rates.usd_rate) as balance_usd
    from ledger_ends
    inner join latest_rates
        on ledger_ends.asset = latest_rates.asset
        and latest_rates.recency_rank = 1
    group by ledger_ends.user_id

),

last_day as (

    select max(executed_date) as last_date from trades

),

recent_trading as (

    select
        trades.user_id,
        sum(case when not trades.is_maker then trades.notional_usd else 0 end)
            as taker_volume_30d_usd
    from trades
    cross join last_day
    where trades.executed_date > cast({{ dbt.dateadd('day', -30, 'last_day.last_date') }} as date)
    group by trades.user_id

),

recent_fees as (

    select
        fees.user_id,
        sum(fees.fee_usd) as revenue_30d_usd
    from fees
    cross join last_day
    where fees.collected_date > cast({{ dbt.dateadd('day', -30, 'last_day.last_date') }} as date)
    group by fees.user_id

),

positioned as (

    select
        users.user_id,
        users.tier_id,
        current_tier.tier_name,
        balances.balance_usd,
        current_tier.minimum_balance_requirement_usd as tier_minimum_balance_usd,
        current_tier.trading_fee_rate,
        next_tier.tier_id as next_tier_id,
        next_tier.minimum_balance_requirement_usd as next_tier_minimum_balance_usd,
        next_tier.trading_fee_rate as next_tier_fee_rate,
        previous_tier.tier_id as previous_tier_id,
        previous_tier.trading_fee_rate as previous_tier_fee_rate,
        case
            when previous_tier.tier_id is not null
                and balances.balance_usd
                < current_tier.minimum_balance_requirement_usd * (1 + {{ band }})
                then 'downgrade'
            when next_tier.tier_id is not null
                and balances.balance_usd
                >= next_tier.minimum_balance_requirement_usd * (1 - {{ band }})
                and balances.balance_usd < next_tier.minimum_balance_requirement_usd
                then 'upgrade'
        end as boundary_direction
    from users
    inner join balances
        on users.user_id = balances.user_id
    inner join tier_ladder as current_tier
        on users.tier_id = current_tier.tier_id
    left join tier_ladder as next_tier
        on current_tier.next_tier_id = next_tier.tier_id
    left join tier_ladder as previous_tier
        on current_tier.previous_tier_id = previous_tier.tier_id

),

final as (

    select
        positioned.user_id,
        positioned.tier_id,
        positioned.tier_name,
        positioned.boundary_direction,
        case positioned.boundary_direction
            when 'upgrade' then positioned.next_tier_id
            else positioned.previous_tier_id
        end as target_tier_id,
        positioned.balance_usd,
        case positioned.boundary_direction
            when 'upgrade' then positioned.next_tier_minimum_balance_usd
            else positioned.tier_minimum_balance_usd
        end as boundary_balance_usd,
        case positioned.boundary_direction
            when 'upgrade' then positioned.next_tier_minimum_balance_usd - positioned.balance_usd
            else positioned.balance_usd - positioned.tier_minimum_balance_usd
        end as distance_to_boundary_usd,
        coalesce(recent_trading.taker_volume_30d_usd, 0) as taker_volume_30d_usd,
        coalesce(recent_fees.revenue_30d_usd, 0) as revenue_at_stake_30d_usd,
        coalesce(recent_trading.taker_volume_30d_usd, 0) * (
            case positioned.boundary_direction
                when 'upgrade' then positioned.next_tier_fee_rate
                else positioned.previous_tier_fee_rate
            end - positioned.trading_fee_rate
        ) as taker_fee_change_30d_usd,
        last_day.last_date as as_of_date
    from positioned
    cross join last_day
    left join recent_trading
        on positioned.user_id = recent_trading.user_id
    left join recent_fees
        on positioned.user_id = recent_fees.user_id
    where positioned.boundary_direction is not null

)

-- Money as DECIMAL (macro money, docs/architecture.md) and counts as bigint: the types of
-- the contract (the model's YAML).
select
    user_id,
    tier_id,
    tier_name,
    boundary_direction,
    target_tier_id,
    {{ money('balance_usd') }} as balance_usd,
    {{ money('boundary_balance_usd') }} as boundary_balance_usd,
    {{ money('distance_to_boundary_usd') }} as distance_to_boundary_usd,
    {{ money('taker_volume_30d_usd') }} as taker_volume_30d_usd,
    {{ money('revenue_at_stake_30d_usd') }} as revenue_at_stake_30d_usd,
    {{ money('taker_fee_change_30d_usd') }} as taker_fee_change_30d_usd,
    as_of_date
from final
