-- One row per registered user: segments as of the last day of data E. Tier (current), value
-- band (30-day fill volume and fee revenue) and lifecycle stage; see the doc block
-- lifecycle_stage for the definitions and their precedence.

with

users as (

    -- Marketing-facing: users deleted in the operational database are left out (docs/deletes.md).
    select * from {{ ref('dim_users') }}
    where coalesce(is_deleted, false) = false

),

activity as (

    select * from {{ ref('int_users_recent_activity_measured') }}

),

risk as (

    select * from {{ ref('fct_user_churn_risk') }}

),

joined as (

    select
        users.user_id,
        activity.as_of_date,
        users.registration_date,
        users.tier_id,
        users.tier_name,
        -- marketing-facing: a KYC record deleted in the operational database is not shown
        -- as a verification (docs/deletes.md)
        case when users.kyc_is_deleted then 'none' else users.kyc_status end as kyc_status,
        users.user_status,
        activity.first_trade_date,
        activity.last_trade_date,
        activity.days_since_last_trade,
        activity.is_active,
        activity.current_spell_number,
        activity.current_spell_start_date,
        activity.trade_days_30d,
        activity.volume_30d_usd,
        activity.revenue_30d_usd,
        risk.churn_risk_level,
        coalesce(risk.needs_attention, activity.support_tickets_30d > {{ var('churn_risk_attention_support_tickets') }})
            as needs_attention,
        cast({{ dbt.dateadd('day', -29, 'activity.as_of_date') }} as date) as window_start_date
    from users
    inner join activity
        on users.user_id = activity.user_id
    left join risk
        on users.user_id = risk.user_id

),

final as (

    select
        user_id,
        as_of_date,
        registration_date,
        tier_id,
        tier_name,
        kyc_status,
        user_status,
        first_trade_date,
        last_trade_date,
        days_since_last_trade,
        trade_days_30d,
        volume_30d_usd,
        revenue_30d_usd,
        case
            when volume_30d_usd >= {{ var('value_band_high_volume_usd') }}
                or revenue_30d_usd >= {{ var('value_band_high_revenue_usd') }} then 'high'
            when volume_30d_usd >= {{ var('value_band_medium_volume_usd') }}
                or revenue_30d_usd >= {{ var('value_band_medium_revenue_usd') }} then 'medium'
            when volume_30d_usd > 0 or revenue_30d_usd > 0 then 'low'
            else 'none'
        end as value_band,
        case
            when first_trade_date is null then 'not_traded'
            when not is_active then 'churned'
            when churn_risk_level in ('high', 'medium') then 'at_risk'
            when current_spell_number > 1 and current_spell_start_date >= window_start_date then 'won_back'
            when first_trade_date >= window_start_date then 'new'
            else 'active'
        end as lifecycle_stage,
        churn_risk_level,
        needs_attention,
        current_spell_number > 1 as has_win_back
    from joined

)

select * from final
