{{
    config(
        materialized='incremental',
        unique_key='wallet_id',
        incremental_strategy=incremental_strategy(),
        on_schema_change='append_new_columns',
    )
}}

-- An incremental table: every wallet version is a row of raw (about eight per wallet), and the
-- wallet tests read the latest ones every run. A run re-ranks every raw version of each wallet
-- with a row loaded since the last run (has_versions_loaded_since_last_run), so the stored
-- row is replaced by exactly what a full refresh would keep.

with

source as (

    select * from {{ source('exchange', 'wallets') }}
    {% if is_incremental() %}
    where {{ has_versions_loaded_since_last_run('wallet_id', source('exchange', 'wallets')) }}
    {% endif %}

),

latest as (

    {{ latest_version('source', ['wallet_id'], table='wallets') }}

),

renamed as (

    select
        wallet_id,
        user_id,
        asset,
        balance,
        locked_balance,
        updated_at,
        _loaded_at as loaded_at
    from latest

)

select * from renamed
