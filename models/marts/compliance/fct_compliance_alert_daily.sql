-- One row per UTC day, alert source, rule and severity: how many alerts were detected, from
-- the first to the last day of exchange activity or alerts. Every rule of the catalogue
-- (seed compliance_rules) and every rule and severity seen in the alerts has a row on every
-- day, zero when nothing fired, so a chart of hits per rule shows quiet days.

with

alerts as (

    select * from {{ ref('fct_compliance_alerts') }}

),

rules as (

    select * from {{ ref('compliance_rules') }}

),

dates as (

    select date_day from {{ ref('dim_dates') }}

),

bounds as (

    select
        cast(min(first_day) as timestamp) as first_day,
        cast(max(last_day) as timestamp) as last_day
    from (
        select
            min(date_day) as first_day,
            max(date_day) as last_day
        from dates
        union all
        select
            min(detected_date),
            max(detected_date)
        from alerts
    ) as day_ranges

),

days as (

    {{ time_spine('bounds', 'first_day', 'last_day', 'day') }}

),

series as (

    select
        alert_source,
        rule_name,
        rule_category,
        default_severity as severity
    from rules
    union distinct
    select
        alert_source,
        rule_name,
        rule_category,
        severity
    from alerts

),

grid as (

    select
        {{ to_day('days.spine_at') }} as alert_date,
        series.alert_source,
        series.rule_name,
        series.rule_category,
        series.severity
    from days
    cross join series

),

daily as (

    select
        detected_date as alert_date,
        alert_source,
        rule_name,
        severity,
        count(*) as alert_count,
        count(distinct user_id) as alerted_users,
        sum(case when investigation_status = 'pending' then 1 else 0 end) as pending_alert_count,
        sum(case when is_sar_candidate then 1 else 0 end) as sar_candidate_count,
        sum(amount_usd) as amount_usd
    from alerts
    group by detected_date, alert_source, rule_name, severity

),

final as (

    select
        grid.alert_date,
        grid.alert_source,
        grid.rule_name,
        grid.rule_category,
        grid.severity,
        coalesce(daily.alert_count, 0) as alert_count,
        coalesce(daily.alerted_users, 0) as alerted_users,
        coalesce(daily.pending_alert_count, 0) as pending_alert_count,
        coalesce(daily.sar_candidate_count, 0) as sar_candidate_count,
        coalesce(daily.amount_usd, 0) as amount_usd
    from grid
    left join daily
        on grid.alert_date = daily.alert_date
        and grid.alert_source = daily.alert_source
        and grid.rule_name = daily.rule_name
        and grid.severity = daily.severity

)

-- Money as DECIMAL (macro money, docs/architecture.md) and counts as bigint: the types of
-- the contract (the model's YAML).
select
    alert_date,
    alert_source,
    rule_name,
    rule_category,
    severity,
    alert_count,
    alerted_users,
    cast(pending_alert_count as bigint) as pending_alert_count,
    cast(sar_candidate_count as bigint) as sar_candidate_count,
    {{ money('amount_usd') }} as amount_usd
from final
