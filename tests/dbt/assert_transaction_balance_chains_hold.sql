{{ config(store_failures=true, tags=['financial_integrity']) }}

-- SPEC section 7: per user and asset, completed transactions in time order (created_at, then
-- transaction_id) form a chain: balance_after = balance_before + amount, and each row's
-- balance_before equals the balance_after of the previous completed row. Pending and failed
-- rows move no balance and are left out of the chain. Reads fct_transactions (the ledger as BI
-- tools see it). Returns every row that breaks it, with the reason and the previous row.

with

transactions as (

    select * from {{ ref('fct_transactions') }}
    where transaction_status = 'completed'

),

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
