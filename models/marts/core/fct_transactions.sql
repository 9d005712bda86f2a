-- A view (over the view int_transactions_valued): the ledger's one stored copy is
-- stg_exchange__transactions.
{{ config(materialized='view') }}

-- One row per wallet transaction (deposit, withdrawal, trade leg, fee), valued in USD at its
-- own hour (int_transactions_valued).

with

transactions as (

    select * from {{ ref('int_transactions_valued') }}

),

final as (

    select
        transaction_id,
        user_id,
        transaction_type,
        asset,
        amount,
        balance_before,
        balance_after,
        reference_id,
        transaction_status,
        is_completed,
        asset_usd_rate,
        {{ money('amount_usd') }} as amount_usd,
        created_at,
        created_date,
        loaded_at
    from transactions

)

select * from final
