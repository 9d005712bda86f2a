{{ config(store_failures=true, tags=['financial_integrity']) }}

-- SPEC section 7: a wallet's balance equals the balance_after of the last completed
-- transaction of its user and asset (up to the wallet's updated_at when it has one: a newer
-- transaction is not yet in that wallet version). A wallet without any transaction must hold
-- nothing. Returns the wallets that disagree.

{% set chain_order = ['transactions.created_at', 'transactions.transaction_id'] %}

with

wallets as {{ not_materialized() }} (

    -- a daily run: the wallet versions of its test window (macros/test_window.sql)
    select * from {{ ref('stg_exchange__wallets') }}
    where {{ test_window_filter('updated_at', ref('stg_exchange__wallets')) }}

),

transactions as (

    select transaction_id, user_id, asset, balance_after, created_at
    from {{ ref('fct_transactions') }}
    where transaction_status = 'completed'

),

last_transactions as (

    select
        wallet_id,
        {{ last_row_value('last_transaction', 'transaction_id') }} as last_transaction_id,
        {{ last_row_value('last_transaction', 'created_at') }} as last_transaction_at,
        {{ last_row_value('last_transaction', 'balance_after') }} as last_balance_after
    from (

        -- One pass: each wallet's transactions up to its updated_at, reduced to the last one
        -- (time, then id: at the same time the highest id is the later row of the chain). A
        -- max() joined back to the ledger would join its 100M rows twice.
        select
            wallets.wallet_id,
            {{ last_row('last_transaction', {
                'transaction_id': 'transactions.transaction_id',
                'created_at': 'transactions.created_at',
                'balance_after': 'transactions.balance_after',
            }, chain_order) }}
        from wallets
        inner join transactions
            on wallets.user_id = transactions.user_id
            and wallets.asset = transactions.asset
            and (wallets.updated_at is null or transactions.created_at <= wallets.updated_at)
        group by wallets.wallet_id

    ) as wallet_ends

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
        coalesce(last_transactions.last_balance_after, 0) as expected_balance
    from wallets
    left join last_transactions
        on wallets.wallet_id = last_transactions.wallet_id

)

select
    *,
    case
        when last_transaction_id is null then 'wallet holds a balance without any completed transaction'
        else 'balance differs from the last balance_after'
    end as failure_reason
from compared
where abs(balance - expected_balance) > {{ var('integrity_balance_tolerance') }}
