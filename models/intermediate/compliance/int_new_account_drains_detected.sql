-- Rule new_account_drain (docs/aml_rules.md): within var('new_account_drain_window_days') days
-- of registration (bounds included), a completed withdrawal takes the user's withdrawals so
-- far to var('new_account_drain_withdrawn_share') or more of the deposits so far, once those
-- deposits are at least var('new_account_drain_min_deposits_usd'). "So far" is every
-- completed transfer up to and including that withdrawal, in time order. The first such
-- withdrawal is the hit: one alert per user.

{%- set window_days = var('new_account_drain_window_days') %}

with

transfers as (

    select * from {{ ref('int_transfers_completed') }}
    where amount_usd is not null

),

users as (

    select
        user_id,
        registered_at
    from {{ ref('stg_exchange__users') }}

),

early_transfers as (

    select
        transfers.transaction_id,
        transfers.user_id,
        transfers.transaction_type,
        transfers.amount_usd,
        transfers.created_at,
        users.registered_at
    from transfers
    inner join users
        on transfers.user_id = users.user_id
    where transfers.created_at <= {{ dbt.dateadd('day', window_days, 'users.registered_at') }}

),

running as (

    select
        *,
        sum(case when transaction_type = 'deposit' then amount_usd else 0 end) over (
            partition by user_id order by created_at, transaction_id
            rows between unbounded preceding and current row
        ) as deposits_to_date_usd,
        sum(case when transaction_type = 'withdrawal' then amount_usd else 0 end) over (
            partition by user_id order by created_at, transaction_id
            rows between unbounded preceding and current row
        ) as withdrawals_to_date_usd,
        row_number() over (partition by user_id order by created_at, transaction_id) as transfer_number
    from early_transfers

),

drains as (

    select
        *,
        row_number() over (partition by user_id order by created_at, transaction_id) as drain_rank
    from running
    where transaction_type = 'withdrawal'
        and created_at >= registered_at
        and deposits_to_date_usd >= {{ var('new_account_drain_min_deposits_usd') }}
        and withdrawals_to_date_usd >= {{ var('new_account_drain_withdrawn_share') }} * deposits_to_date_usd

),

first_drain as (

    select * from drains
    where drain_rank = 1

),

evidence as (

    select
        first_drain.user_id,
        count(*) as evidence_count,
        {{ dbt.listagg('running.transaction_id', "','", 'order by running.created_at, running.transaction_id') }}
            as evidence_ids,
        min(running.created_at) as pattern_started_at
    from first_drain
    inner join running
        on first_drain.user_id = running.user_id
        and first_drain.transfer_number >= running.transfer_number
    group by first_drain.user_id

),

final as (

    select
        {{ dbt.hash(dbt.concat(["'new_account_drain|'", 'first_drain.user_id'])) }} as alert_id,
        'new_account_drain' as rule_name,
        first_drain.user_id,
        cast(null as {{ dbt.type_string() }}) as severity,
        first_drain.user_id as hit_key,
        first_drain.withdrawals_to_date_usd as amount_usd,
        'transaction' as evidence_type,
        evidence.evidence_ids,
        evidence.evidence_count,
        'withdrawals reached the share of deposits within the window after registration' as alert_details,
        evidence.pattern_started_at,
        first_drain.created_at as detected_at
    from first_drain
    inner join evidence
        on first_drain.user_id = evidence.user_id

)

select * from final
