-- Rule dormant_reactivation (docs/aml_rules.md): a completed deposit or withdrawal of at least
-- var('dormant_reactivation_min_usd') when the user's previous completed transaction of any
-- type (deposit, withdrawal, trade leg, fee) is var('dormant_reactivation_idle_days') days or
-- more earlier (exactly 180 days counts). A user's first transaction ever is not a
-- reactivation: there must be earlier activity to have been dormant. One hit per transfer.

{%- set idle_days = var('dormant_reactivation_idle_days') %}

with

transfers as {{ not_materialized() }} (

    select * from {{ ref('int_transfers_completed') }}
    where amount_usd >= {{ var('dormant_reactivation_min_usd') }}

),

candidate_users as (

    select distinct user_id from transfers

),

transactions as (

    -- Only the users with a transfer large enough to matter: a fraction of the ledger.
    select
        completed.transaction_id,
        completed.user_id,
        completed.created_at
    from {{ ref('stg_exchange__transactions') }} as completed
    inner join candidate_users
        on completed.user_id = candidate_users.user_id
    where completed.status = 'completed'

),

with_previous as (

    -- The user's latest completed transaction before each transfer (time order, then id).
    select
        transfers.transaction_id,
        max(transactions.created_at) as previous_at
    from transfers
    inner join transactions
        on transfers.user_id = transactions.user_id
        and (
            transfers.created_at > transactions.created_at
            or (
                transfers.created_at = transactions.created_at
                and transfers.transaction_id > transactions.transaction_id
            )
        )
    group by transfers.transaction_id

),

hits as (

    select
        transfers.transaction_id,
        transfers.user_id,
        transfers.transaction_type,
        transfers.amount_usd,
        transfers.created_at,
        with_previous.previous_at
    from transfers
    inner join with_previous
        on transfers.transaction_id = with_previous.transaction_id
    where with_previous.previous_at <= {{ dbt.dateadd('day', -idle_days, 'transfers.created_at') }}

),

final as (

    select
        {{ dbt.hash(dbt.concat(["'dormant_reactivation|'", 'user_id', "'|'", 'transaction_id'])) }} as alert_id,
        'dormant_reactivation' as rule_name,
        user_id,
        cast(null as {{ dbt.type_string() }}) as severity,
        transaction_id as hit_key,
        amount_usd,
        'transaction' as evidence_type,
        transaction_id as evidence_ids,
        1 as evidence_count,
        transaction_type
        || ' after '
        || {{ dbt.cast(dbt.datediff('previous_at', 'created_at', 'day'), dbt.type_string()) }}
        || ' days without a transaction' as alert_details,
        previous_at as pattern_started_at,
        created_at as detected_at
    from hits

)

select * from final
