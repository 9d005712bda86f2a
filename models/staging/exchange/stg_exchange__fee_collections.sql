{{
    config(
        materialized='incremental',
        unique_key='fee_id',
        incremental_strategy=incremental_strategy(),
        on_schema_change='append_new_columns',
        partition_by={'field': 'collected_at', 'data_type': 'timestamp', 'granularity': 'day'}
            if target.type == 'bigquery' else none,
        cluster_by=['user_id'] if target.type == 'bigquery' else none,
    )
}}

-- An incremental table, where the other staging models are views: one of the four largest
-- event tables, and the fee collections' one stored copy (int_fee_collections_valued is a view
-- over it; docs/reliability.md#scale-and-speed). A run dedupes only the rows loaded since the
-- last run (less the lookback); a later delivery of a key replaces the stored row, so the
-- latest load wins exactly as in latest_version. A full refresh gives the same rows.

with

source as {{ staged_source() }} (

    select * from {{ source('exchange', 'fee_collections') }}
    {% if is_incremental() %}
    where _loaded_at > {{ incremental_watermark('loaded_at') }}
    {% endif %}

),

latest as (

    {{ latest_version('source', ['fee_id'], table='fee_collections', mostly_unique=true) }}

),

renamed as (

    select
        fee_id,
        user_id,
        fee_type,
        fee_amount,
        fee_asset,
        trading_pair_id as pair_id,
        collected_at,
        _loaded_at as loaded_at
    from latest

)

select * from renamed
