{{
    config(
        materialized='incremental',
        unique_key='trade_id',
        incremental_strategy=incremental_strategy(),
        on_schema_change='append_new_columns',
    )
}}

-- An incremental table, where the other staging models are views: one of the four largest
-- event tables, read by several models. A run dedupes only the rows loaded since the last run
-- (less the lookback); a later delivery of a key replaces the stored row, so the latest load
-- wins exactly as in latest_version. A full refresh gives the same rows.

with

source as {{ staged_source() }} (

    select * from {{ source('exchange', 'trades') }}
    {% if is_incremental() %}
    where _loaded_at > {{ incremental_watermark('loaded_at') }}
    {% endif %}

),

latest as (

    {{ latest_version('source', ['trade_id'], table='trades', mostly_unique=true) }}

),

renamed as (

    select
        trade_id,
        order_id,
        user_id,
        pair_id,
        side,
        quantity,
        price,
        fee as fee_amount,
        fee_asset,
        is_maker,
        executed_at,
        _loaded_at as loaded_at
    from latest

)

select * from renamed
