-- A view, not a second stored copy of the ledger: its one stored copy is
-- stg_exchange__transactions, and the rate join costs each reader about 2 s at `large` where
-- writing the 85 million valued rows cost 56 s (docs/reliability.md#scale-and-speed). Not a
-- daily partition: nothing partitioned reads the ledger, so it builds with the compliance and
-- integrity models that do.
{{ config(materialized='view') }}

-- One row per wallet transaction (deposit, withdrawal, trade leg, fee), valued in USD with its
-- asset's rate at the transaction's hour (int_asset_usd_rates_hourly through usd_rate_join;
-- NULL where the asset has no rate). The compliance and integrity models read it; the mart
-- fct_transactions publishes it.

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
