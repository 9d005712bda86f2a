{{ config(store_failures=true, tags=['financial_integrity']) }}

-- SPEC section 7: per user and asset, completed transactions in time order (created_at, then
-- transaction_id) form a chain: balance_after = balance_before + amount, and each row's
-- balance_before equals the balance_after of the previous completed row. Pending and failed
-- rows move no balance and are left out of the chain. Reads fct_transactions (the ledger as BI
-- tools see it). Returns every row that breaks it, with the reason and the previous row.

with

completed as {{ not_materialized() }} (

    select * from {{ ref('fct_transactions') }}
    where transaction_status = 'completed'

),

{% if var('test_days', none) %}
-- A daily run (macros/test_window.sql): the rows of its test window and, before them, the
-- last row (time) of each of those ledgers, so the window's first row is checked against its
-- predecessor. The older rows of other ledgers are never grouped or sorted.
window_rows as (

    select * from completed
    where {{ test_window_filter('created_at', ref('fct_transactions')) }}

),

window_ledgers as (

    select distinct user_id, asset from window_rows

),

window_starts as (

    select
        completed.user_id,
        completed.asset,
        max(completed.created_at) as start_at
    from completed
    inner join window_ledgers
        on completed.user_id = window_ledgers.user_id
        and completed.asset = window_ledgers.asset
    where not ({{ test_window_filter('created_at', ref('fct_transactions'), 'completed') }})
    group by completed.user_id, completed.asset

),

transactions as (

    select * from window_rows
    union all
    select completed.*
    from completed
    inner join window_starts
        on completed.user_id = window_starts.user_id
        and completed.asset = window_starts.asset
        and completed.created_at = window_starts.start_at

),
{% else %}
transactions as (

    select * from completed

),
{% endif %}

chained as (

    select
        transaction_id,
        user_id,
        asset,
        transaction_type,
        amount,
        balance_before,
        balance_after,
        created_at,
        lag(transaction_id) over (
            partition by user_id, asset order by created_at, transaction_id
        ) as previous_transaction_id,
        lag(balance_after) over (
            partition by user_id, asset order by created_at, transaction_id
        ) as previous_balance_after
    from transactions

),

failures as (

    select
        *,
        case
            when abs(balance_after - (balance_before + amount)) > {{ var('integrity_balance_tolerance') }}
                then 'balance_after differs from balance_before + amount'
            when previous_transaction_id is not null
                and abs(balance_before - previous_balance_after) > {{ var('integrity_balance_tolerance') }}
                then 'balance_before differs from the previous balance_after'
        end as failure_reason
    from chained

)

select * from failures
where failure_reason is not null
