{{
    config(
        materialized='incremental',
        unique_key='transaction_id',
        incremental_strategy=incremental_strategy(),
        on_schema_change='append_new_columns',
        tags=['daily_partitioned'],
        partition_by={'field': 'created_date', 'data_type': 'date'} if target.type == 'bigquery' else none,
        cluster_by=['user_id'] if target.type == 'bigquery' else none,
    )
}}

-- One row per wallet transaction (deposit, withdrawal, trade leg, fee), valued in USD with its
-- asset's rate at the transaction's hour (int_asset_usd_rates_hourly through usd_rate_join;
-- NULL where the asset has no rate). The compliance and integrity models read it; the mart
-- fct_transactions publishes it.

with

transactions as (

    select * from {{ ref('stg_exchange__transactions') }}
    where {{ incremental_window('created_at') }}

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
