{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy=incremental_strategy(),
        on_schema_change='append_new_columns',
    )
}}

-- An incremental table, like the staging of the other large event tables: fct_orders and the
-- order tests read it every run. Orders are versioned (status and filled quantity change): a
-- run re-ranks every raw version of each order with a row loaded since the last run
-- (has_versions_loaded_since_last_run), so the stored row is replaced by exactly what a full
-- refresh would keep.

with

source as {{ staged_source() }} (

    select * from {{ source('exchange', 'orders') }}
    {% if is_incremental() %}
    where {{ has_versions_loaded_since_last_run('order_id', source('exchange', 'orders')) }}
        -- and the orders whose tombstone landed since: a delete is a change of the order
        or order_id in (
            select row_key from {{ ref('stg_exchange__deletions') }}
            where table_name = 'orders' and loaded_at > {{ incremental_watermark('loaded_at') }}
        )
    {% endif %}

),

latest as (

    {{ latest_version('source', ['order_id'], table='orders', mostly_unique=true) }}

),

-- Deleted in the operational database (docs/deletes.md): flagged and kept (trading history).
deletions as (

    select
        row_key,
        deleted_at,
        loaded_at
    from {{ ref('stg_exchange__deletions') }}
    where table_name = 'orders'

),

renamed as (

    select
        latest.order_id,
        latest.user_id,
        latest.pair_id,
        latest.order_type,
        latest.side,
        latest.quantity,
        latest.price,
        latest.status,
        latest.filled_quantity,
        latest.created_at as placed_at,
        latest.updated_at,
        coalesce(deletions.loaded_at >= latest._loaded_at, false) as is_deleted,
        case when deletions.loaded_at >= latest._loaded_at then deletions.deleted_at end as deleted_at,
        -- the watermark: a tombstone landed later is this order's newest change
        case
            when deletions.loaded_at >= latest._loaded_at then deletions.loaded_at
            else latest._loaded_at
        end as loaded_at
    from latest
    left join deletions
        on latest.order_id = deletions.row_key

)

select * from renamed
