{{
    config(
        materialized='incremental',
        unique_key='transaction_id',
        incremental_strategy=incremental_strategy(),
        on_schema_change='append_new_columns',
        partition_by={'field': 'created_at', 'data_type': 'timestamp', 'granularity': 'day'}
            if target.type == 'bigquery' else none,
        cluster_by=['user_id', 'asset'] if target.type == 'bigquery' else none,
    )
}}

-- An incremental table, where the other staging models are views: one of the four largest
-- event tables, and the ledger's one stored copy (int_transactions_valued is a view over it;
-- docs/reliability.md#scale-and-speed), read by the integrity checks and several models.
-- Transactions are versioned by their status (pending, then completed or failed:
-- docs/landing_contract.md#keys-and-versions), so a late delivery of an older version must not
-- replace a newer stored one: a run re-ranks every raw version of each transaction with a row
-- loaded since the last run (has_versions_loaded_since_last_run), exactly what a full refresh
-- keeps.

with

source as {{ staged_source() }} (

    select * from {{ source('exchange', 'transactions') }}
    {% if is_incremental() %}
    where {{ has_versions_loaded_since_last_run('transaction_id', source('exchange', 'transactions')) }}
    {% endif %}

),

latest as (

    {{ latest_version('source', ['transaction_id'], table='transactions', mostly_unique=true) }}

),

renamed as (

    select
        transaction_id,
        user_id,
        transaction_type,
        asset,
        amount,
        balance_before,
        balance_after,
        reference_id,
        status,
        created_at,
        _loaded_at as loaded_at
    from latest

)

select * from renamed
