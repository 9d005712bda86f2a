-- SAR candidates still open (not completed: pending, investigating or escalated), the most
-- urgent first.
-- dbt compile --select sar_candidates_open

select
    due_date,
    days_until_due,
    is_overdue,
    investigation_status,
    assignee,
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
where is_open
order by due_date, amount_usd desc, alert_id
