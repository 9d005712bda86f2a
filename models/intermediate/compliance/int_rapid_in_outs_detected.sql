-- Rule rapid_in_out (docs/aml_rules.md): the withdrawals of a user in the
-- var('rapid_in_out_window_hours') hours after a deposit (strictly after it, up to and
-- including the window's end) reach var('rapid_in_out_withdrawn_share') of the deposit,
-- while the user's traded notional (own fills, both sides, in USD) between the deposit and
-- the withdrawal that reached the share stays under var('rapid_in_out_traded_share') of it.
--
-- Detected at the withdrawal that reached the share. When one withdrawal completes the
-- pattern for several deposits, the earliest deposit carries the alert: one alert per
-- pattern, not one per deposit.

{%- set window_hours = var('rapid_in_out_window_hours') %}

with

transfers as {{ not_materialized() }} (

    select * from {{ ref('int_transfers_completed') }}
    where amount_usd is not null

),

fills as (

    select
        user_id,
        executed_at,
        notional_usd
    from {{ ref('int_trades_valued') }}

),

deposits as (

    select
        transaction_id,
        user_id,
        amount_usd,
        created_at
    from transfers
    where transaction_type = 'deposit'
        and amount_usd > 0
        and amount_usd >= {{ var('rapid_in_out_min_deposit_usd') }}

),

withdrawals as (

    select
        transaction_id,
        user_id,
        amount_usd,
        created_at
    from transfers
    where transaction_type = 'withdrawal'

),

withdrawals_after_deposit as (

    select
        deposits.transaction_id as deposit_id,
        deposits.user_id,
        deposits.amount_usd as deposit_usd,
        deposits.created_at as deposited_at,
        withdrawals.transaction_id as withdrawal_id,
        withdrawals.created_at as withdrawn_at,
        sum(withdrawals.amount_usd) over (
            partition by deposits.transaction_id
            order by withdrawals.created_at, withdrawals.transaction_id
            rows between unbounded preceding and current row
        ) as withdrawn_to_date_usd,
        row_number() over (
            partition by deposits.transaction_id
            order by withdrawals.created_at, withdrawals.transaction_id
        ) as withdrawal_number
    from deposits
    inner join withdrawals
        on deposits.user_id = withdrawals.user_id
        and deposits.created_at < withdrawals.created_at
        and withdrawals.created_at <= {{ dbt.dateadd('hour', window_hours, 'deposits.created_at') }}

),

share_reached as (

    select
        *,
        row_number() over (
            partition by deposit_id order by withdrawn_at, withdrawal_id
        ) as reach_rank
    from withdrawals_after_deposit
    where withdrawn_to_date_usd >= {{ var('rapid_in_out_withdrawn_share') }} * deposit_usd

),

completions as (

    select
        deposit_id,
        user_id,
        deposit_usd,
        deposited_at,
        withdrawal_id as completing_withdrawal_id,
        withdrawn_at as detected_at,
        withdrawal_number as withdrawal_count,
        withdrawn_to_date_usd
    from share_reached
    where reach_rank = 1

),

traded_in_between as (

    select
        completions.deposit_id,
        coalesce(sum(fills.notional_usd), 0) as traded_usd
    from completions
    left join fills
        on completions.user_id = fills.user_id
        and completions.deposited_at < fills.executed_at
        and completions.detected_at >= fills.executed_at
    group by completions.deposit_id

),

hits as (

    select
        completions.*,
        row_number() over (
            partition by completions.completing_withdrawal_id
            order by completions.deposited_at, completions.deposit_id
        ) as deposit_rank
    from completions
    inner join traded_in_between
        on completions.deposit_id = traded_in_between.deposit_id
    where traded_in_between.traded_usd < {{ var('rapid_in_out_traded_share') }} * completions.deposit_usd

),

evidence as (

    select
        hits.deposit_id,
        {{ dbt.listagg(
            'withdrawals_after_deposit.withdrawal_id', "','",
            'order by withdrawals_after_deposit.withdrawn_at, withdrawals_after_deposit.withdrawal_id'
        ) }} as withdrawal_ids
    from hits
    inner join withdrawals_after_deposit
        on hits.deposit_id = withdrawals_after_deposit.deposit_id
        and hits.withdrawal_count >= withdrawals_after_deposit.withdrawal_number
    where hits.deposit_rank = 1
    group by hits.deposit_id

),

final as (

    select
        {{ dbt.hash(dbt.concat(["'rapid_in_out|'", 'hits.user_id', "'|'", 'hits.deposit_id'])) }} as alert_id,
        'rapid_in_out' as rule_name,
        hits.user_id,
        cast(null as {{ dbt.type_string() }}) as severity,
        hits.deposit_id as hit_key,
        hits.deposit_usd as amount_usd,
        'transaction' as evidence_type,
        hits.deposit_id || ',' || evidence.withdrawal_ids as evidence_ids,
        hits.withdrawal_count + 1 as evidence_count,
        'deposit withdrawn within the window with little trading' as alert_details,
        hits.deposited_at as pattern_started_at,
        hits.detected_at
    from hits
    inner join evidence
        on hits.deposit_id = evidence.deposit_id
    where hits.deposit_rank = 1

)

select * from final
