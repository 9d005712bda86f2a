-- One row per user who needs an action as of the last day of data E: the action, the reason in
-- words from the user's own figures, the expected value of acting and a priority (doc block
-- next_best_action). A user who qualifies for several actions gets the first in precedence:
--   1 win_back_offer        churned, and high or medium value in the 30 days up to the last fill
--   2 retention_attention   trading, and high churn risk, or needs attention (support tickets),
--                           or medium churn risk (no fill for 7+ days) at high or medium value
--   3 tier_upgrade_nudge    trading, 30-day volume at least nba_tier_reach_share of the next
--                           tier's threshold (seed tier_volume_thresholds) but below it
--   4 kyc_completion        never traded, KYC pending or not submitted nba_kyc_stuck_days after registering
--   5 first_trade_activation never traded, KYC approved nba_activation_days ago or more
-- Only users whose account is active. The churn score is the rule-based one of
-- fct_user_churn_risk mapped to a probability (vars nba_churn_score_*): the model score of
-- predictive/ is written after dbt builds (marts.fct_churn_predictions), so dbt cannot read it.

with

segments as (

    select * from {{ ref('dim_user_segments') }}

),

risk as (

    select user_id, volume_change_pct, support_tickets_30d from {{ ref('fct_user_churn_risk') }}

),

users as (

    select user_id, kyc_approved_at from {{ ref('dim_users') }}

),

daily as (

    select * from {{ ref('fct_user_daily_activity') }}

),

thresholds as (

    select * from {{ ref('tier_volume_thresholds') }}

),

last_active as (

    -- a churned user's value is that of the 30 days up to the last fill: what the exchange lost
    select
        segments.user_id,
        sum(daily.notional_usd) as volume_usd,
        sum(daily.fee_usd) as revenue_usd
    from segments
    inner join daily
        on segments.user_id = daily.user_id
        and daily.activity_date between cast({{ dbt.dateadd('day', -29, 'segments.last_trade_date') }} as date)
            and segments.last_trade_date
    where segments.lifecycle_stage = 'churned'
    group by segments.user_id

),

new_trader_value as (

    -- what a user who starts trading brings in a first 30 days: the mean of the new traders
    select coalesce(avg(revenue_30d_usd), 0) as revenue_usd
    from segments
    where lifecycle_stage = 'new'

),

profile as (

    select
        segments.user_id,
        segments.as_of_date,
        segments.tier_name,
        segments.user_status,
        segments.kyc_status,
        segments.lifecycle_stage,
        segments.churn_risk_level,
        coalesce(segments.needs_attention, false) as needs_attention,
        segments.days_since_last_trade,
        segments.volume_30d_usd,
        risk.volume_change_pct,
        coalesce(risk.support_tickets_30d, 0) as support_tickets_30d,
        case when segments.lifecycle_stage = 'churned' then coalesce(last_active.volume_usd, 0)
            else coalesce(segments.volume_30d_usd, 0) end as value_volume_usd,
        case when segments.lifecycle_stage = 'churned' then coalesce(last_active.revenue_usd, 0)
            else coalesce(segments.revenue_30d_usd, 0) end as value_revenue_usd,
        next_tier.tier_name as next_tier_name,
        next_tier.min_volume_30d_usd as next_tier_min_volume_usd,
        {{ dbt.datediff('segments.registration_date', 'segments.as_of_date', 'day') }} as days_since_registration,
        {{ dbt.datediff(to_day('users.kyc_approved_at'), 'segments.as_of_date', 'day') }} as days_since_kyc_approval,
        new_trader_value.revenue_usd as new_trader_revenue_usd
    from segments
    left join last_active
        on segments.user_id = last_active.user_id
    left join risk
        on segments.user_id = risk.user_id
    left join users
        on segments.user_id = users.user_id
    left join thresholds as next_tier
        on next_tier.tier_id = segments.tier_id + 1
    cross join new_trader_value

),

banded as (

    select
        *,
        -- the value bands of dim_user_segments, on the value figures above
        case
            when value_volume_usd >= {{ var('value_band_high_volume_usd') }}
                or value_revenue_usd >= {{ var('value_band_high_revenue_usd') }} then 'high'
            when value_volume_usd >= {{ var('value_band_medium_volume_usd') }}
                or value_revenue_usd >= {{ var('value_band_medium_revenue_usd') }} then 'medium'
            when value_volume_usd > 0 or value_revenue_usd > 0 then 'low'
            else 'none'
        end as value_band
    from profile

),

chosen as (

    select
        *,
        case
            when user_status <> 'active' then null
            when lifecycle_stage = 'churned' and value_band in ('high', 'medium') then 'win_back_offer'
            when lifecycle_stage not in ('churned', 'not_traded')
                and (churn_risk_level = 'high' or needs_attention
                    or (churn_risk_level = 'medium' and value_band in ('high', 'medium')))
                then 'retention_attention'
            when lifecycle_stage not in ('churned', 'not_traded')
                and next_tier_min_volume_usd is not null
                and volume_30d_usd < next_tier_min_volume_usd
                and volume_30d_usd >= {{ var('nba_tier_reach_share') }} * next_tier_min_volume_usd
                then 'tier_upgrade_nudge'
            when lifecycle_stage = 'not_traded' and kyc_status in ('pending', 'none')
                and days_since_registration >= {{ var('nba_kyc_stuck_days') }} then 'kyc_completion'
            when lifecycle_stage = 'not_traded' and kyc_status = 'approved'
                and days_since_kyc_approval >= {{ var('nba_activation_days') }} then 'first_trade_activation'
        end as action
    from banded

),

scored as (

    select
        *,
        case action
            when 'win_back_offer' then 1
            when 'retention_attention' then 2
            when 'tier_upgrade_nudge' then 3
            when 'kyc_completion' then 4
            when 'first_trade_activation' then 5
        end as action_precedence,
        case
            when lifecycle_stage = 'churned' then {{ var('nba_churn_score_churned') }}
            when lifecycle_stage = 'not_traded' then {{ var('nba_churn_score_not_traded') }}
            when churn_risk_level = 'high' then {{ var('nba_churn_score_high') }}
            when churn_risk_level = 'medium' then {{ var('nba_churn_score_medium') }}
            else {{ var('nba_churn_score_low') }}
        end as churn_score,
        case when lifecycle_stage = 'not_traded' then new_trader_revenue_usd
            else value_revenue_usd end as value_at_stake_usd
    from chosen
    where action is not null

),

final as (

    select
        user_id,
        as_of_date,
        action,
        action_precedence,
        case action
            when 'win_back_offer' then {{ dbt.concat([
                "'No fill for '", "cast(days_since_last_trade as " ~ dbt.type_string() ~ ")",
                "' days; traded '", number_text('value_volume_usd'),
                "' USD and paid '", number_text('value_revenue_usd'),
                "' USD in fees in the 30 days up to the last fill ('", "value_band", "' value).'"]) }}
            when 'retention_attention' then {{ dbt.concat([
                "'30-day volume '", number_text('volume_30d_usd'), "' USD'",
                "case when volume_change_pct < 0 then " ~ dbt.concat(["', down '", number_text('-volume_change_pct'), "'% on the 30 days before'"]) ~ " else '' end",
                "case when days_since_last_trade > " ~ var('churn_risk_medium_days_since_last_trade') ~ " then " ~ dbt.concat(["'; no fill for '", "cast(days_since_last_trade as " ~ dbt.type_string() ~ ")", "' days'"]) ~ " else '' end",
                "case when needs_attention then " ~ dbt.concat(["'; '", "cast(support_tickets_30d as " ~ dbt.type_string() ~ ")", "' support tickets in 30 days'"]) ~ " else '' end",
                "'; churn risk '", "coalesce(churn_risk_level, 'unknown')", "'.'"]) }}
            when 'tier_upgrade_nudge' then {{ dbt.concat([
                "'30-day volume '", number_text('volume_30d_usd'), "' USD is '",
                number_text('100 * volume_30d_usd / next_tier_min_volume_usd'),
                "'% of the '", "next_tier_name", "' threshold of '", number_text('next_tier_min_volume_usd'), "' USD.'"]) }}
            when 'kyc_completion' then {{ dbt.concat([
                "'Registered '", "cast(days_since_registration as " ~ dbt.type_string() ~ ")",
                "' days ago; KYC '", "case when kyc_status = 'none' then 'not submitted' else kyc_status end",
                "'; no fill possible before approval.'"]) }}
            when 'first_trade_activation' then {{ dbt.concat([
                "'KYC approved '", "cast(days_since_kyc_approval as " ~ dbt.type_string() ~ ")",
                "' days ago; no fill yet.'"]) }}
        end as reason,
        tier_name,
        lifecycle_stage,
        value_band,
        churn_risk_level,
        cast(churn_score as {{ type_double() }}) as churn_score,
        -- Money as DECIMAL (macro money, docs/architecture.md): the type of the contract.
        {{ money('value_at_stake_usd') }} as value_at_stake_usd,
        {{ money('churn_score * value_at_stake_usd') }} as expected_value_usd
    from scored

)

select
    *,
    row_number() over (order by expected_value_usd desc, action_precedence, user_id) as priority_rank
from final
