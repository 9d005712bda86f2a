-- Suspicious activity report (SAR) candidates: one row per rule or system alert involving
-- var('sar_min_amount_usd') USD or more, due for a filing decision var('sar_due_days') days
-- after detection. Days to due and overdue are counted as of the last day of data, so a
-- rebuild on the same data gives the same report. The case state (status, disposition,
-- assignee) is the analysts' latest recorded decision (fct_compliance_alerts): a candidate
-- closed as a false positive stays listed, with is_open false, and is never overdue.

with

alerts as (

    select * from {{ ref('fct_compliance_alerts') }}
    where is_sar_candidate

),

users as (

    select * from {{ ref('dim_users') }}

),

as_of as (

    select max(date_day) as as_of_date from {{ ref('dim_dates') }}

),

final as (

    select
        alerts.alert_id,
        alerts.alert_source,
        alerts.rule_name,
        alerts.rule_category,
        alerts.severity,
        alerts.user_id,
        users.country_code,
        users.kyc_level,
        users.kyc_status,
        alerts.amount_usd,
        alerts.transaction_ids,
        alerts.evidence_type,
        alerts.evidence_ids,
        alerts.alert_details,
        alerts.detected_at,
        alerts.detected_date,
        cast({{ dbt.dateadd('day', var('sar_due_days'), 'alerts.detected_date') }} as date) as due_date,
        as_of.as_of_date,
        {{ dbt.datediff('as_of.as_of_date', dbt.dateadd('day', var('sar_due_days'), 'alerts.detected_date'), 'day') }}
            as days_until_due,
        alerts.investigation_status,
        alerts.disposition,
        alerts.is_open,
        alerts.assignee,
        alerts.reviewed_at,
        coalesce(
            alerts.is_open
            and as_of.as_of_date > cast({{ dbt.dateadd('day', var('sar_due_days'), 'alerts.detected_date') }} as date),
            false
        ) as is_overdue
    from alerts
    cross join as_of
    left join users
        on alerts.user_id = users.user_id

)

select * from final
