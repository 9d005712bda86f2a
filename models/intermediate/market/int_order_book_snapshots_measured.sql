-- One row per order-book snapshot: the spread recomputed from the best prices
-- (docs/kpis.md#market-metrics), the crossed-book flag and the depth within 1% per side.
-- spread_bps = (best_ask - best_bid) / ((best_ask + best_bid) / 2) * 10,000; NULL when a side
-- is missing. A crossed book (ask <= bid) keeps its (zero or negative) spread and is flagged.

with

snapshots as (

    select * from {{ ref('stg_exchange__order_book_snapshots') }}

),

measured as (

    select
        snapshot_id,
        pair_id,
        snapshot_at,
        {{ dbt.date_trunc('hour', 'snapshot_at') }} as snapshot_hour,
        {{ to_day('snapshot_at') }} as snapshot_date,
        best_bid_price,
        best_ask_price,
        best_bid_price is not null and best_ask_price is not null as is_two_sided,
        coalesce(best_ask_price <= best_bid_price, false) as is_crossed,
        (cast(best_ask_price as {{ type_double() }}) + best_bid_price) / 2 as mid_price,
        {{ safe_divide(
            '(best_ask_price - best_bid_price) * 10000',
            '((best_ask_price + best_bid_price) / 2)'
        ) }} as spread_bps,
        spread_bps as reported_spread_bps,
        cast(bid_depth_1_percent as {{ type_double() }}) as bid_depth_1_percent,
        cast(ask_depth_1_percent as {{ type_double() }}) as ask_depth_1_percent,
        loaded_at
    from snapshots

)

select * from measured
