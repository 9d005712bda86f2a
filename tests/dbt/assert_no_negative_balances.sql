{{ config(
    store_failures=true, severity='warn', tags=['financial_integrity'],
    meta={'dagster': {'ref': {'name': 'fct_transactions'}}},
) }}

-- docs/reliability.md#financial-integrity: no negative wallet balance or locked balance, and no
-- transaction leaves a negative balance_after. Every delivered version of a wallet is checked, not
-- only the latest: a balance that went negative and was corrected later is still reported
-- (recorded_at says which version). Returns each offending value with where it was found.

with

-- a daily run: the wallet versions and transactions of its test window (macros/test_window.sql)
wallets as (

    select * from {{ ref('stg_exchange__wallet_versions') }}
    where {{ test_window_filter('updated_at', ref('stg_exchange__wallet_versions')) }}

),

transactions as (

    select transaction_id, user_id, asset, balance_after, created_at from {{ ref('fct_transactions') }}
    where {{ test_window_filter('created_at', ref('fct_transactions')) }}

),

negatives as (

    select
        'wallets' as source_table,
        wallet_id as row_id,
        user_id,
        asset,
        'balance' as column_name,
        balance as value,
        updated_at as recorded_at
    from wallets
    where balance < 0

    union all

    select
        'wallets' as source_table,
        wallet_id as row_id,
        user_id,
        asset,
        'locked_balance' as column_name,
        locked_balance as value,
        updated_at as recorded_at
    from wallets
    where locked_balance < 0

    union all

    select
        'transactions' as source_table,
        transaction_id as row_id,
        user_id,
        asset,
        'balance_after' as column_name,
        balance_after as value,
        created_at as recorded_at
    from transactions
    where balance_after < 0

)

select * from negatives
