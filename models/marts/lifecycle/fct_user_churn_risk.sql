-- One row per user with at least one fill: the churn-risk indicators of docs/kpis.md as of
-- the last day of data E, and the risk level they give.
--   days_since_last_trade > 7                                         -> medium
--   volume_change_pct < -50 (own fills' notional_usd, [E-29, E] vs [E-59, E-30]) -> high
--   support_tickets_30d > 2 (opened in [E-29, E])                     -> needs_attention
-- churn_risk_level takes the first that applies of high, medium, low. needs_attention is a
-- separate flag: it never changes the level. Thresholds are vars (dbt_project.yml).

with

activity as (

    select * from {{ ref('int_users_recent_activity_measured') }}
    where first_trade_date is not null
        -- Marketing-facing: users deleted in the operational database are left out
        -- (docs/deletes.md).
        and user_id not in (
            select deleted_users.user_id from {{ ref('dim_users') }} as deleted_users
            where deleted_users.is_deleted
        )

),

users as (

    select * from {{ ref('dim_users') }}

),

first_day as (

    -- The first day of trading data: registrations before it are no trading history.
    select min(date_day) as first_data_date from {{ ref('dim_dates') }}
    where has_trading_started

),

indicators as (

    select
        activity.*,
        case
            when activity.volume_prior_30d_usd > 0
                then 100 * (activity.volume_30d_usd - activity.volume_prior_30d_usd)
                    / cast(activity.volume_prior_30d_usd as {{ type_double() }})
        end as volume_change_pct,
        -- The prior window [E - 59, E - 30] lies wholly inside the data; when it does not,
        -- a NULL volume_change_pct may only mean that history is missing.
        cast({{ dbt.dateadd('day', -59, 'activity.as_of_date') }} as date) >= first_day.first_data_date
            as is_prior_window_in_data
    from activity
    cross join first_day

),

flagged as (

    select
        *,
        coalesce(volume_change_pct < -{{ var('churn_risk_high_volume_drop_pct') }}, false)
            as has_volume_drop,
        days_since_last_trade > {{ var('churn_risk_medium_days_since_last_trade') }}
            as is_inactive_over_threshold,
        support_tickets_30d > {{ var('churn_risk_attention_support_tickets') }}
            as needs_attention
    from indicators

),

final as (

    select
        flagged.user_id,
        flagged.as_of_date,
        users.tier_name,
        flagged.first_trade_date,
        flagged.last_trade_date,
        flagged.days_since_last_trade,
        flagged.is_active,
        not flagged.is_active as is_churned,
        flagged.volume_30d_usd,
        flagged.volume_prior_30d_usd,
        flagged.volume_change_pct,
        flagged.is_prior_window_in_data,
        flagged.support_tickets_30d,
        flagged.has_volume_drop,
        flagged.is_inactive_over_threshold,
        flagged.needs_attention,
        case
            when flagged.has_volume_drop then 'high'
            when flagged.is_inactive_over_threshold then 'medium'
            else 'low'
        end as churn_risk_level
    from flagged
    left join users
        on flagged.user_id = users.user_id

)

-- Money as DECIMAL (macro money, docs/architecture.md) and counts as bigint: the types of
-- the contract (the model's YAML). A day difference is bigint on DuckDB, integer on PostgreSQL.
select
    user_id,
    as_of_date,
    tier_name,
    first_trade_date,
    last_trade_date,
    cast(days_since_last_trade as bigint) as days_since_last_trade,
    is_active,
    is_churned,
    {{ money('volume_30d_usd') }} as volume_30d_usd,
    {{ money('volume_prior_30d_usd') }} as volume_prior_30d_usd,
    volume_change_pct,
    is_prior_window_in_data,
    support_tickets_30d,
    has_volume_drop,
    is_inactive_over_threshold,
    needs_attention,
    churn_risk_level
from final
