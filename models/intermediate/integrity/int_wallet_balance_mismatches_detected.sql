-- One row per wallet version whose balance is not the end of its ledger's chain
-- (docs/reliability.md#financial-integrity): the balance_after of the last completed transaction of
-- its user and asset up to the wallet's updated_at (a newer transaction is not yet in that wallet
-- version). A wallet without any transaction must hold nothing. Empty on a sound ledger.
--
-- Rows that share the last timestamp (a trade leg and its fee) are in chain order, not id order:
-- the chain's end is the row whose balance_after no other row of that timestamp starts from (the
-- one balance reached once more than it is left; int_ledger_chain_breaks_detected explains the
-- counting).

{% set tolerance = var('integrity_balance_tolerance') %}

with

wallets as {{ not_materialized() }} (

    -- a daily run: the wallet versions of its test window (macros/test_window.sql)
    select * from {{ ref('stg_exchange__wallets') }}
    where {{ test_window_filter('updated_at', ref('stg_exchange__wallets')) }}

),

transactions as {{ not_materialized() }} (

    select
        transaction_id,
        user_id,
        asset,
        balance_before,
        balance_after,
        created_at
    from {{ ref('stg_exchange__transactions') }}
    where status = 'completed'

),

-- Each wallet's last timestamp: the latest completed transaction time up to its updated_at. A
-- max() of the time alone, then the rows of that time joined back: at `large`, the join, the
-- max() and the join back took 12.6 s, the last row carried through the join as one value 34.2 s.
-- Each is computed once (read again below).
last_transaction_times as {{ materialized_once() }} (

    select
        wallets.wallet_id,
        wallets.user_id,
        wallets.asset,
        max(transactions.created_at) as last_transaction_at
    from wallets
    inner join transactions
        on wallets.user_id = transactions.user_id
        and wallets.asset = transactions.asset
        and (wallets.updated_at is null or wallets.updated_at >= transactions.created_at)
    group by wallets.wallet_id, wallets.user_id, wallets.asset

),

-- the rows of each wallet's last timestamp: one row, or a tie whose chain end is found below
last_timestamp_rows as {{ materialized_once() }} (

    select
        last_transaction_times.wallet_id,
        transactions.transaction_id,
        transactions.balance_before,
        transactions.balance_after
    from last_transaction_times
    inner join transactions
        on last_transaction_times.user_id = transactions.user_id
        and last_transaction_times.asset = transactions.asset
        and last_transaction_times.last_transaction_at = transactions.created_at

),

-- the end of each wallet's last timestamp: its one row, or the chain end of a tie, else the last
-- row by id (macros/ledger.sql)
last_transactions as (

    select
        last_transaction_times.wallet_id,
        last_transaction_times.last_transaction_at,
        timestamp_ends.end_balance_count,
        timestamp_ends.end_transaction_id as last_transaction_id,
        timestamp_ends.end_balance_after as last_balance_after
    from last_transaction_times
    inner join (
        {{ ledger_timestamp_ends('last_timestamp_rows', ['wallet_id']) }}
    ) as timestamp_ends
        on last_transaction_times.wallet_id = timestamp_ends.wallet_id

),

-- rows of one timestamp summing to zero return to where they started: any balance they pass is
-- an end the wallet may hold
closed_tie_ends as (

    select distinct last_timestamp_rows.wallet_id
    from last_timestamp_rows
    inner join last_transactions
        on last_timestamp_rows.wallet_id = last_transactions.wallet_id
    inner join wallets
        on last_timestamp_rows.wallet_id = wallets.wallet_id
    where last_transactions.end_balance_count = 0
        and abs(last_timestamp_rows.balance_after - wallets.balance) <= {{ tolerance }}

),

compared as (

    select
        wallets.wallet_id,
        wallets.user_id,
        wallets.asset,
        wallets.balance,
        wallets.locked_balance,
        wallets.updated_at,
        last_transactions.last_transaction_id,
        last_transactions.last_transaction_at,
        last_transactions.last_balance_after,
        closed_tie_ends.wallet_id is not null as is_closed_tie_end
    from wallets
    left join last_transactions
        on wallets.wallet_id = last_transactions.wallet_id
    left join closed_tie_ends
        on wallets.wallet_id = closed_tie_ends.wallet_id

),

final as (

    select
        wallet_id,
        user_id,
        asset,
        balance,
        locked_balance,
        updated_at,
        last_transaction_id,
        last_transaction_at,
        last_balance_after,
        coalesce(last_balance_after, 0) as expected_balance,
        case
            when last_transaction_id is null then 'wallet holds a balance without any completed transaction'
            else 'balance differs from the last balance_after'
        end as failure_reason
    from compared
    where abs(balance - coalesce(last_balance_after, 0)) > {{ tolerance }}
        and not is_closed_tie_end

)

select * from final
