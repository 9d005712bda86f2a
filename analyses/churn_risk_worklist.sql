-- Traders worth a retention call: high or medium churn risk, not churned yet (a fill in the
-- last 30 days), the most valuable first. needs_attention flags users with more than 2
-- support tickets in 30 days: call them first, whatever the level.
-- Risk levels and value bands: docs/metrics.md (churn_risk_level, value_band).
-- dbt compile --select churn_risk_worklist

with

risk as (

    select * from {{ ref('fct_user_churn_risk') }}

),

segments as (

    select * from {{ ref('dim_user_segments') }}

)

select
    risk.user_id,
    risk.tier_name,
    risk.churn_risk_level,
    risk.needs_attention,
    risk.days_since_last_trade,
    risk.volume_30d_usd,
    risk.volume_prior_30d_usd,
    risk.volume_change_pct,
    risk.support_tickets_30d,
    segments.value_band,
    segments.revenue_30d_usd
from risk
inner join segments
    on risk.user_id = segments.user_id
where
    risk.churn_risk_level in ('high', 'medium')
    and not risk.is_churned
order by
    risk.needs_attention desc,
    case risk.churn_risk_level when 'high' then 1 else 2 end asc,
    segments.revenue_30d_usd desc,
    risk.user_id asc
