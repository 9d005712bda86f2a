{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy=incremental_strategy(),
        on_schema_change='append_new_columns',
        tags=['daily_partitioned'],
        partition_by={'field': 'placed_date', 'data_type': 'date'} if target.type == 'bigquery' else none,
        cluster_by=['user_id'] if target.type == 'bigquery' else none,
    )
}}

-- One row per order (latest version), with its fills summed.
-- An incremental run rebuilds the orders with a new version (a status change) and the orders
-- with a new fill (a late fill changes the fill sums of an order loaded long ago).

with

orders as {{ not_materialized() }} (

    select * from {{ ref('stg_exchange__orders') }}

),

trades as {{ not_materialized() }} (

    select
        order_id,
        quantity,
        notional_usd,
        executed_at,
        loaded_at
    from {{ ref('int_trades_valued') }}

),

{% if is_incremental() %}
changed_orders as (

    select order_id from orders
    where {{ incremental_window('placed_at') }}
    union distinct
    select order_id from trades
    where {{ incremental_window('executed_at') }}

),
{% endif %}

orders_to_build as (

    select * from orders
    {% if is_incremental() %}
    where order_id in (select order_id from changed_orders)
    {% endif %}

),

fills as (

    select
        order_id,
        count(*) as fill_count,
        sum(quantity) as filled_quantity_from_fills,
        sum(notional_usd) as filled_notional_usd,
        max(loaded_at) as fills_loaded_at
    from trades
    {% if is_incremental() %}
    where order_id in (select order_id from changed_orders)
    {% endif %}
    group by order_id

),

final as (

    select
        orders_to_build.order_id,
        orders_to_build.user_id,
        orders_to_build.pair_id,
        orders_to_build.order_type,
        orders_to_build.side,
        orders_to_build.quantity,
        orders_to_build.price,
        orders_to_build.status as order_status,
        orders_to_build.filled_quantity,
        coalesce(orders_to_build.filled_quantity, 0) > 0 as is_executed,
        coalesce(fills.fill_count, 0) as fill_count,
        coalesce(fills.filled_quantity_from_fills, 0) as filled_quantity_from_fills,
        fills.filled_notional_usd,
        orders_to_build.placed_at,
        {{ to_day('orders_to_build.placed_at') }} as placed_date,
        orders_to_build.updated_at,
        -- deleted in the operational database: flagged, kept (docs/deletes.md)
        orders_to_build.is_deleted,
        orders_to_build.deleted_at,
        -- The incremental watermark: the newest load among the order's versions and fills.
        greatest(
            orders_to_build.loaded_at, coalesce(fills.fills_loaded_at, orders_to_build.loaded_at)
        ) as loaded_at
    from orders_to_build
    left join fills
        on orders_to_build.order_id = fills.order_id

)

select * from final
