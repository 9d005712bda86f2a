{{ config(store_failures=true, tags=['financial_integrity']) }}

-- SPEC section 7: per user and asset, completed transactions in time order (created_at, then
-- transaction_id) form a chain: balance_after = balance_before + amount, and each row's
-- balance_before equals the balance_after of the previous completed row. Pending and failed
-- rows move no balance and are left out of the chain. Reads fct_transactions (the ledger as BI
-- tools see it). Returns every row that breaks it, with the reason and the previous row.

{% set windowed = var('test_days', none) %}
{% set ledger_order = 'partition by user_id, asset order by created_at, transaction_id' %}

with

completed as {{ not_materialized() }} (

    select * from {{ ref('fct_transactions') }}
    where transaction_status = 'completed'

),

{% if windowed %}
-- A daily run (macros/test_window.sql): the rows of its test window, each ledger's first one
-- checked against the last completed row before the window. That predecessor is found in one
-- aggregate pass over the older rows of the window's ledgers: no sort of history, and no
-- join of the whole ledger back to it.
window_rows as (

    select * from completed
    where {{ test_window_filter('created_at', ref('fct_transactions')) }}

),

window_ledgers as (

    select distinct user_id, asset from window_rows

),

predecessors as (

    select
        user_id,
        asset,
        {{ last_row_value('predecessor', 'transaction_id') }} as predecessor_id,
        {{ last_row_value('predecessor', 'balance_after') }} as predecessor_balance_after
    from (

        select
            completed.user_id,
            completed.asset,
            {{ last_row('predecessor', {
                'transaction_id': 'completed.transaction_id',
                'balance_after': 'completed.balance_after',
            }, ['completed.created_at', 'completed.transaction_id']) }}
        from completed
        inner join window_ledgers
            on completed.user_id = window_ledgers.user_id
            and completed.asset = window_ledgers.asset
        where not ({{ test_window_filter('created_at', ref('fct_transactions'), 'completed') }})
        group by completed.user_id, completed.asset

    ) as ledger_ends

),

transactions as (

    select
        window_rows.*,
        predecessors.predecessor_id,
        predecessors.predecessor_balance_after
    from window_rows
    left join predecessors
        on window_rows.user_id = predecessors.user_id
        and window_rows.asset = predecessors.asset

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
        {% if windowed %}
        coalesce(
            lag(transaction_id) over ({{ ledger_order }}), predecessor_id
        ) as previous_transaction_id,
        case
            when lag(transaction_id) over ({{ ledger_order }}) is null then predecessor_balance_after
            else lag(balance_after) over ({{ ledger_order }})
        end as previous_balance_after
        {% else %}
        lag(transaction_id) over ({{ ledger_order }}) as previous_transaction_id,
        lag(balance_after) over ({{ ledger_order }}) as previous_balance_after
        {% endif %}
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
