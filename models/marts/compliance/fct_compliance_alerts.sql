-- One row per compliance alert: every hit of this project's rules (alert_source 'rule', one
-- intermediate model per rule in models/intermediate/compliance) beside the alerts the
-- exchange's own systems raised: compliance_alerts (alert_source 'system') and
-- security_events (alert_source 'security'). A broken ledger invariant
-- (docs/reliability.md#financial-integrity) is a critical alert of its own, alert_source
-- 'data_quality' (int_ledger_integrity_alerts_flagged): the rule alerts are still built from the
-- data that arrived.
--
-- A rule alert's id is a hash of the rule, the user and the facts that define the hit (a
-- transaction, a day, an IP network, ...), so rebuilding never duplicates an alert and an
-- alert keeps its id as new data arrives. Rule alerts start as investigation_status
-- 'pending' with no disposition, the fields of the design document's compliance_alerts.
-- The analysts' decisions (casework.alert_case_events, recorded by `python -m compliance
-- review`, never by dbt) are joined last: an alert's latest decision overrides the status and
-- disposition it starts with (doc block compliance_casework).

{%- set rule_models = [
    'int_large_transactions_flagged',
    'int_daily_aggregates_flagged',
    'int_structuring_patterns_detected',
    'int_rapid_in_outs_detected',
    'int_high_risk_country_transfers_flagged',
    'int_dormant_reactivations_detected',
    'int_new_account_drains_detected',
    'int_shared_ips_detected',
    'int_failed_login_bursts_detected',
    'int_self_trades_detected',
    'int_unapproved_kyc_fills_flagged',
    'int_withdrawal_limit_breaches_flagged',
    'int_undersized_orders_flagged',
    'int_inactive_pair_fills_flagged',
] %}

with

{% for rule_model in rule_models %}
    {{ rule_model }} as (

        select * from {{ ref(rule_model) }}

    ),

{% endfor %}
system_alerts as (

    select * from {{ ref('stg_exchange__compliance_alerts') }}

),

security_events as (

    select * from {{ ref('stg_exchange__security_events') }}

),

ledger_integrity_alerts as (

    select * from {{ ref('int_ledger_integrity_alerts_flagged') }}

),

transactions as (

    select
        transaction_id,
        amount_usd
    from {{ ref('fct_transactions') }}

),

rules as (

    select * from {{ ref('compliance_rules') }}

),

case_states as (

    select * from {{ ref('int_alert_case_states') }}

),

rule_hits as (

    {% for rule_model in rule_models %}
        select
            alert_id,
            'rule' as alert_source,
            rule_name,
            user_id,
            severity,
            hit_key,
            amount_usd,
            evidence_type,
            evidence_ids,
            evidence_count,
            alert_details,
            pattern_started_at,
            detected_at,
            'pending' as investigation_status,
            cast(null as {{ dbt.type_string() }}) as disposition,
            cast(null as {{ dbt.type_string() }}) as source_status
        from {{ rule_model }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

system_hits as (

    select
        system_alerts.alert_id,
        'system' as alert_source,
        system_alerts.alert_type as rule_name,
        system_alerts.user_id,
        cast(null as {{ dbt.type_string() }}) as severity,
        system_alerts.alert_id as hit_key,
        -- The source's transaction_amount has no stated unit: the linked transaction's USD
        -- value wins where the transaction is known.
        coalesce(abs(transactions.amount_usd), cast(system_alerts.transaction_amount as {{ type_double() }}))
            as amount_usd,
        case when system_alerts.transaction_id is not null then 'transaction' end as evidence_type,
        system_alerts.transaction_id as evidence_ids,
        case when system_alerts.transaction_id is not null then 1 else 0 end as evidence_count,
        'raised by the exchange compliance monitoring' as alert_details,
        system_alerts.created_at as pattern_started_at,
        system_alerts.created_at as detected_at,
        system_alerts.investigation_status,
        system_alerts.disposition,
        system_alerts.investigation_status as source_status
    from system_alerts
    left join transactions
        on system_alerts.transaction_id = transactions.transaction_id

),

security_hits as (

    select
        event_id as alert_id,
        'security' as alert_source,
        event_type as rule_name,
        user_id,
        severity,
        event_id as hit_key,
        cast(null as {{ type_double() }}) as amount_usd,
        'security_event' as evidence_type,
        event_id as evidence_ids,
        1 as evidence_count,
        'raised by the security systems' || coalesce(' from IP network ' || ip_network, '') as alert_details,
        created_at as pattern_started_at,
        created_at as detected_at,
        -- A security event is open until resolved: the queue's pending and completed.
        case status when 'open' then 'pending' when 'resolved' then 'completed' end as investigation_status,
        cast(null as {{ dbt.type_string() }}) as disposition,
        status as source_status
    from security_events

),

data_quality_hits as (

    select
        alert_id,
        'data_quality' as alert_source,
        rule_name,
        user_id,
        severity,
        hit_key,
        amount_usd,
        evidence_type,
        evidence_ids,
        evidence_count,
        alert_details,
        pattern_started_at,
        detected_at,
        'pending' as investigation_status,
        cast(null as {{ dbt.type_string() }}) as disposition,
        cast(null as {{ dbt.type_string() }}) as source_status
    from ledger_integrity_alerts

),

all_alerts as (

    select * from rule_hits
    union all
    select * from system_hits
    union all
    select * from security_hits
    union all
    select * from data_quality_hits

),

final as (

    select
        all_alerts.alert_id,
        all_alerts.alert_source,
        all_alerts.rule_name,
        rules.rule_category,
        all_alerts.user_id,
        coalesce(all_alerts.severity, rules.default_severity) as severity,
        case coalesce(all_alerts.severity, rules.default_severity)
            when 'critical' then 4 when 'high' then 3 when 'medium' then 2 when 'low' then 1
        end as severity_rank,
        all_alerts.hit_key,
        all_alerts.amount_usd,
        case when all_alerts.evidence_type = 'transaction' then all_alerts.evidence_ids end as transaction_ids,
        all_alerts.evidence_type,
        all_alerts.evidence_ids,
        all_alerts.evidence_count,
        all_alerts.alert_details,
        all_alerts.pattern_started_at,
        all_alerts.detected_at,
        {{ to_day('all_alerts.detected_at') }} as detected_date,
        coalesce(case_states.investigation_status, all_alerts.investigation_status) as investigation_status,
        case
            when case_states.alert_id is not null then case_states.disposition
            else all_alerts.disposition
        end as disposition,
        all_alerts.source_status,
        coalesce(
            all_alerts.alert_source in ('rule', 'system') and all_alerts.amount_usd >= {{ var('sar_min_amount_usd') }},
            false
        ) as is_sar_candidate,
        coalesce(case_states.investigation_status, all_alerts.investigation_status, 'pending') <> 'completed'
            as is_open,
        case_states.assignee,
        case_states.case_note,
        case_states.reviewed_at,
        case_states.reviewed_by,
        coalesce(case_states.case_event_count, 0) as case_event_count
    from all_alerts
    left join rules
        on all_alerts.alert_source = rules.alert_source
        and all_alerts.rule_name = rules.rule_name
    left join case_states
        on all_alerts.alert_id = case_states.alert_id

)

-- Money as DECIMAL (macro money, docs/architecture.md) and counts as bigint: the types of
-- the contract (the model's YAML).
select
    alert_id,
    alert_source,
    rule_name,
    rule_category,
    user_id,
    severity,
    severity_rank,
    hit_key,
    {{ money('amount_usd') }} as amount_usd,
    transaction_ids,
    evidence_type,
    evidence_ids,
    evidence_count,
    alert_details,
    pattern_started_at,
    detected_at,
    detected_date,
    investigation_status,
    disposition,
    source_status,
    is_sar_candidate,
    is_open,
    assignee,
    case_note,
    reviewed_at,
    reviewed_by,
    case_event_count
from final
