-- One row per ledger (user and asset) with a completed transaction: the balance its chain ends
-- on, the balance_after of its last completed row (docs/metrics.md#metric_tier_boundary). Rows
-- that share the last timestamp (a trade leg and its fee) end where their chain does, not at the
-- largest id (macros/ledger.sql): at `large`, 17,425 of the 34,869 ledgers whose last timestamp is
-- a tie ended, by id, on a balance the chain had already left.
--
-- Read from the staged ledger, not its USD view: the balance needs no rate (the reader values
-- it at the latest one).

with

completed as {{ not_materialized() }} (

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

-- each ledger's last timestamp, then that timestamp's rows joined back: one hash aggregate and
-- one join, no sort of the ledger
last_transaction_times as {{ materialized_once() }} (

    select
        user_id,
        asset,
        max(created_at) as last_transaction_at
    from completed
    group by user_id, asset

),

last_timestamp_rows as {{ materialized_once() }} (

    select
        completed.user_id,
        completed.asset,
        completed.transaction_id,
        completed.balance_before,
        completed.balance_after
    from completed
    inner join last_transaction_times
        on completed.user_id = last_transaction_times.user_id
        and completed.asset = last_transaction_times.asset
        and completed.created_at = last_transaction_times.last_transaction_at

),

timestamp_ends as (

    {{ ledger_timestamp_ends('last_timestamp_rows', ['user_id', 'asset']) }}

),

final as (

    select
        last_transaction_times.user_id,
        last_transaction_times.asset,
        timestamp_ends.end_transaction_id as last_transaction_id,
        last_transaction_times.last_transaction_at,
        timestamp_ends.end_balance_after as balance_after
    from last_transaction_times
    inner join timestamp_ends
        on last_transaction_times.user_id = timestamp_ends.user_id
        and last_transaction_times.asset = timestamp_ends.asset

)

select * from final
