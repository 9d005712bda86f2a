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

-- One row per wallet transaction (deposit, withdrawal, trade leg, fee), valued in USD at its
-- own time.

with

transactions as (

    select * from {{ ref('stg_exchange__transactions') }}
    where {{ incremental_window('created_at') }}

),

stablecoins as (

    select * from {{ ref('stablecoins') }}

),

rates as (

    select * from {{ ref('int_asset_usd_rates_hourly') }}

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
        coalesce(stablecoins.usd_rate, rates.usd_rate) as asset_usd_rate,
        cast(transactions.amount as {{ type_double() }}) * coalesce(stablecoins.usd_rate, rates.usd_rate) as amount_usd,
        transactions.created_at,
        {{ to_day('transactions.created_at') }} as created_date,
        transactions.loaded_at
    from transactions
    left join stablecoins
        on transactions.asset = stablecoins.asset
    left join rates
        on transactions.asset = rates.asset
        and {{ dbt.date_trunc('hour', 'transactions.created_at') }} = rates.rate_hour

)

-- Money as DECIMAL (macro money, docs/architecture.md) and counts as bigint: the types of
-- the contract (the model's YAML).
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
from final
