{{ config(store_failures=true, severity='warn', tags=['financial_integrity']) }}

-- docs/reliability.md#financial-integrity: an order's filled_quantity equals the sum of its fills'
-- quantity, and its status agrees with it: pending = nothing filled, partial = some but not all,
-- filled = all of the quantity, cancelled = not all of it. Fills of an unknown order are reported
-- too. Returns each order that fails, with the reason.

with

orders as (

    -- a daily run: the orders placed in its test window (macros/test_window.sql)
    select * from {{ ref('fct_orders') }}
    where {{ test_window_filter('placed_at', ref('fct_orders')) }}

),

orphan_fills as (

    select
        fills.order_id,
        count(*) as fill_count,
        sum(fills.quantity) as filled_quantity_from_fills
    from {{ ref('fct_trades') }} as fills
    left join {{ ref('fct_orders') }} as orders
        on fills.order_id = orders.order_id
    where orders.order_id is null
        and {{ test_window_filter('executed_at', ref('fct_trades'), 'fills') }}
    group by fills.order_id

),

checked as (

    select
        order_id,
        user_id,
        order_status,
        quantity,
        filled_quantity,
        fill_count,
        filled_quantity_from_fills,
        case
            when coalesce(filled_quantity, 0) <> filled_quantity_from_fills
                then 'filled_quantity differs from the sum of the fills'
            when order_status = 'pending' and coalesce(filled_quantity, 0) <> 0
                then 'pending order with fills'
            when order_status = 'partial' and not (filled_quantity > 0 and filled_quantity < quantity)
                then 'partial order not partly filled'
            when order_status = 'filled' and coalesce(filled_quantity, 0) <> quantity
                then 'filled order not completely filled'
            when order_status = 'cancelled' and coalesce(filled_quantity, 0) >= quantity
                then 'cancelled order completely filled'
            when coalesce(filled_quantity, 0) > quantity
                then 'filled more than the quantity'
        end as failure_reason
    from orders

    union all

    select
        order_id,
        cast(null as {{ dbt.type_string() }}) as user_id,
        cast(null as {{ dbt.type_string() }}) as order_status,
        null as quantity,
        null as filled_quantity,
        fill_count,
        filled_quantity_from_fills,
        'fills of an order that does not exist' as failure_reason
    from orphan_fills

)

select * from checked
where failure_reason is not null
