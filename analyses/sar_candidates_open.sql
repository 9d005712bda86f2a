-- SAR candidates still pending investigation, the most urgent first.
-- dbt compile --select sar_candidates_open

select
    due_date,
    days_until_due,
    is_overdue,
    severity,
    rule_name,
    alert_source,
    user_id,
    amount_usd,
    transaction_ids,
    alert_details,
    detected_at,
    alert_id
from {{ ref('rpt_sar_candidates') }}
where investigation_status = 'pending'
order by due_date, amount_usd desc, alert_id
