-- Business rule order_below_min_size (the design document's trade amount limits): an order
-- whose quantity is below its pair's min_order_size (exactly the minimum is allowed). A pair
-- without a minimum never fires. One hit per order, detected when it was placed.

with

orders as (

    select order_id, user_id, pair_id, side, quantity, placed_at
    from {{ ref('stg_exchange__orders') }}

),

pairs as (

    select pair_id, symbol, min_order_size from {{ ref('stg_exchange__trading_pairs') }}

),

hits as (

    select
        orders.*,
        pairs.symbol,
        pairs.min_order_size
    from orders
    inner join pairs
        on orders.pair_id = pairs.pair_id
    where orders.quantity < pairs.min_order_size

),

final as (

    select
        {{ dbt.hash(dbt.concat(["'order_below_min_size|'", 'user_id', "'|'", 'order_id'])) }} as alert_id,
        'order_below_min_size' as rule_name,
        user_id,
        cast(null as {{ dbt.type_string() }}) as severity,
        order_id as hit_key,
        cast(null as {{ type_double() }}) as amount_usd,
        'order' as evidence_type,
        order_id as evidence_ids,
        1 as evidence_count,
        side || ' order below the minimum size of ' || symbol as alert_details,
        placed_at as pattern_started_at,
        placed_at as detected_at
    from hits

)

select * from final
