-- One critical data-quality alert per ledger (user and asset) and broken invariant
-- (docs/reliability.md#financial-integrity): the balance chain (int_ledger_chain_breaks_detected)
-- or the wallet balance (int_wallet_balance_mismatches_detected). fct_compliance_alerts lists them
-- with alert_source 'data_quality' beside the AML alerts, which are still built from the data that
-- arrived: a broken ledger is reported loudly, it never blinds compliance. The id hashes the
-- invariant, the user and the asset, so it stays the same while the break lasts.

with

chain_breaks as (

    select * from {{ ref('int_ledger_chain_breaks_detected') }}

),

wallet_mismatches as (

    select * from {{ ref('int_wallet_balance_mismatches_detected') }}

),

failures as (

    select
        'ledger_balance_chain_broken' as rule_name,
        user_id,
        asset,
        'transaction' as evidence_type,
        transaction_id as evidence_id,
        failure_reason,
        created_at as failed_at
    from chain_breaks

    union all

    select
        'wallet_balance_mismatch' as rule_name,
        user_id,
        asset,
        'wallet' as evidence_type,
        wallet_id as evidence_id,
        failure_reason,
        coalesce(updated_at, last_transaction_at) as failed_at
    from wallet_mismatches

),

ledgers as (

    select
        rule_name,
        user_id,
        asset,
        max(evidence_type) as evidence_type,
        {{ dbt.listagg('evidence_id', "','", 'order by failed_at, evidence_id') }} as evidence_ids,
        count(*) as evidence_count,
        min(failure_reason) as failure_reason,
        min(failed_at) as pattern_started_at,
        max(failed_at) as detected_at
    from failures
    group by rule_name, user_id, asset

),

final as (

    select
        {{ dbt.hash(dbt.concat(["'data_quality|'", 'rule_name', "'|'", 'user_id', "'|'", 'asset'])) }} as alert_id,
        rule_name,
        user_id,
        'critical' as severity,
        asset as hit_key,
        cast(null as {{ type_double() }}) as amount_usd,
        evidence_type,
        evidence_ids,
        evidence_count,
        asset || ' ledger: ' || failure_reason as alert_details,
        pattern_started_at,
        detected_at
    from ledgers

)

select * from final
