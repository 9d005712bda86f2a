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

source as {{ not_materialized() }} (

    select * from {{ source('exchange', 'orders') }}
    {% if is_incremental() %}
    where {{ has_versions_loaded_since_last_run('order_id', source('exchange', 'orders')) }}
    {% endif %}

),

latest as (

    {{ latest_version('source', ['order_id'], table='orders', mostly_unique=true) }}

),

renamed as (

    select
        order_id,
        user_id,
        pair_id,
        order_type,
        side,
        quantity,
        price,
        status,
        filled_quantity,
        created_at as placed_at,
        updated_at,
        _loaded_at as loaded_at
    from latest

)

select * from renamed
