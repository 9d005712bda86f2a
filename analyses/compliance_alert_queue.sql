-- The compliance analyst's queue: open alerts (not completed: pending, investigating or
-- escalated, with their assignee), the most severe and the oldest first, with the evidence to
-- open. Record decisions with `python -m compliance review` (docs/casework.md). Rule alerts (alert_source 'rule') come from
-- this project's AML rules; 'system' and 'security' alerts from the exchange's own systems.
-- Rules and thresholds: the doc block compliance_overview (dbt docs) and docs/metrics.md.
-- dbt compile --select compliance_alert_queue

select
    alert_id,
    investigation_status,
    assignee,
    severity,
    rule_name,
    rule_category,
    alert_source,
    user_id,
    amount_usd,
    alert_details,
    evidence_type,
    evidence_ids,
    detected_at,
    is_sar_candidate
from {{ ref('fct_compliance_alerts') }}
where is_open
order by severity_rank desc, detected_at asc, alert_id asc
