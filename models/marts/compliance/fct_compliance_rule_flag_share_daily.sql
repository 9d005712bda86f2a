-- One row per UTC day and rule of this project (seed compliance_rules, alert_source 'rule'):
-- the share of the day's active users the rule flagged, and whether it is above the ceiling
-- var('rule_flag_share_ceiling'). The guard against alert floods (docs:
-- _compliance__docs.md, "Alert-flood guard"): a mis-tuned rule or odd data shows up the day
-- it starts, as a warning-severity dbt test, in the daily report and in the webhook alerts.
--
-- Active users on a day: distinct users with a login event (any type), a fill, or a deposit or
-- withdrawal (any status) that day: everything some rule judges. Flagged users: distinct users
-- with an alert of the rule detected that day. A flagged user need not be active that day (a
-- shared-IP group is detected when its last member logs in), so the share is a ratio, not a
-- subset. Days with fewer than var('rule_flag_share_min_active_users') active users are not
-- judged: on a handful of users one alert is already a large share.

with

logins as (

    select
        user_id,
        {{ to_day('occurred_at') }} as activity_date
    from {{ ref('stg_exchange__login_events') }}

),

fills as (

    select
        user_id,
        trade_date as activity_date
    from {{ ref('int_user_trading_days') }}

),

transfers as (

    select
        user_id,
        {{ to_day('created_at') }} as activity_date
    from {{ ref('fct_transactions') }}
    where transaction_type in ('deposit', 'withdrawal')

),

alerts as (

    select
        rule_name,
        user_id,
        detected_date
    from {{ ref('fct_compliance_alerts') }}
    where alert_source = 'rule'

),

rules as (

    select rule_name from {{ ref('compliance_rules') }}
    where alert_source = 'rule'
    union distinct
    select rule_name from alerts

),

user_days as (

    select
        user_id,
        activity_date
    from logins
    union distinct
    select
        user_id,
        activity_date
    from fills
    union distinct
    select
        user_id,
        activity_date
    from transfers

),

active_users as (

    select
        activity_date,
        count(distinct user_id) as active_users
    from user_days
    where user_id is not null
    group by activity_date

),

flagged_users as (

    select
        detected_date,
        rule_name,
        count(distinct user_id) as flagged_users
    from alerts
    group by detected_date, rule_name

),

days as (

    select activity_date as flag_date from active_users
    union distinct
    select detected_date from flagged_users

),

grid as (

    select
        days.flag_date,
        rules.rule_name
    from days
    cross join rules

),

shares as (

    select
        grid.flag_date,
        grid.rule_name,
        coalesce(active_users.active_users, 0) as active_users,
        coalesce(flagged_users.flagged_users, 0) as flagged_users,
        {{ safe_divide('coalesce(flagged_users.flagged_users, 0)', 'active_users.active_users') }} as flagged_share_rate
    from grid
    left join active_users
        on grid.flag_date = active_users.activity_date
    left join flagged_users
        on grid.flag_date = flagged_users.detected_date
        and grid.rule_name = flagged_users.rule_name

),

final as (

    select
        flag_date,
        rule_name,
        active_users,
        flagged_users,
        flagged_share_rate,
        cast({{ var('rule_flag_share_ceiling') }} as {{ type_double() }}) as flagged_share_ceiling_rate,
        coalesce(
            active_users >= {{ var('rule_flag_share_min_active_users') }}
            and flagged_share_rate > {{ var('rule_flag_share_ceiling') }},
            false
        ) as is_above_ceiling
    from shares

)

select * from final
