-- One row per order (latest version), with its fills summed.

with

orders as (

    select * from {{ ref('stg_exchange__orders') }}

),

fills as (

    select
        order_id,
        count(*) as fill_count,
        sum(quantity) as filled_quantity_from_fills,
        sum(notional_usd) as filled_notional_usd
    from {{ ref('int_trades_valued') }}
    group by order_id

),

final as (

    select
        orders.order_id,
        orders.user_id,
        orders.pair_id,
        orders.order_type,
        orders.side,
        orders.quantity,
        orders.price,
        orders.status as order_status,
        orders.filled_quantity,
        coalesce(orders.filled_quantity, 0) > 0 as is_executed,
        coalesce(fills.fill_count, 0) as fill_count,
        coalesce(fills.filled_quantity_from_fills, 0) as filled_quantity_from_fills,
        fills.filled_notional_usd,
        orders.placed_at,
        {{ to_day('orders.placed_at') }} as placed_date,
        orders.updated_at
    from orders
    left join fills
        on orders.order_id = fills.order_id

)

select * from final
