-- A view, not a stored table: the ledger is stored once, in stg_exchange__transactions
-- (docs/reliability.md#scale-and-speed). Its readers that need USD values (the transfers the
-- AML rules read, the mart fct_transactions) pay the rate join on the rows they read; the
-- integrity checks and the dormancy rule read the staged ledger directly.
{{ config(materialized='view') }}

-- One row per wallet transaction (deposit, withdrawal, trade leg, fee), valued in USD with its
-- asset's rate at the transaction's hour (int_asset_usd_rates_hourly through usd_rate_join, one
-- rate per asset and hour; NULL where the asset has no rate).

with

transactions as (

    select * from {{ ref('stg_exchange__transactions') }}

),

final as (

    select
        transactions.transaction_id,
        transactions.user_id,
        transactions.transaction_type,
        transactions.asset,
        transactions.amount,
        transactions.balance_before,
        transactions.balance_after,
        transactions.reference_id,
        transactions.status as transaction_status,
        transactions.status = 'completed' as is_completed,
        rates.usd_rate as asset_usd_rate,
        cast(transactions.amount as {{ type_double() }}) * rates.usd_rate as amount_usd,
        transactions.created_at,
        {{ to_day('transactions.created_at') }} as created_date,
        transactions.loaded_at
    from transactions
    {{ usd_rate_join('rates', 'transactions.asset', 'transactions.created_at') }}

)

select * from final
