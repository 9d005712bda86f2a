-- One row per trading pair and hourly candle (by open time) with a usable order-book snapshot
-- near the candle's close: the mid price of the two-sided, uncrossed snapshot nearest to the
-- close (candle_hour + 1 hour), at most 15 minutes before or after it. It is the exchange's
-- live price at the close, which the last trade (the close) is not when the pair has not
-- traded for a while. Ties go to the earlier snapshot.

with

snapshots as (

    select * from {{ ref('int_order_book_snapshots_measured') }}

),

usable as (

    select
        pair_id,
        snapshot_at,
        mid_price,
        -- The full hour nearest to the snapshot.
        {{ dbt.date_trunc('hour', dbt.dateadd('minute', 30, 'snapshot_at')) }} as close_at
    from snapshots
    where is_two_sided and not is_crossed

),

ranked as (

    select
        *,
        {{ dbt.datediff('close_at', 'snapshot_at', 'second') }}             as seconds_from_close,
        row_number() over (
            partition by pair_id, close_at
            order by abs({{ dbt.datediff('close_at', 'snapshot_at', 'second') }}) asc, snapshot_at asc
        ) as nearest_rank
    from usable

),

final as (

    select
        pair_id,
        cast({{ dbt.dateadd('hour', -1, 'close_at') }} as timestamp) as candle_hour,
        mid_price,
        snapshot_at,
        seconds_from_close
    from ranked
    where nearest_rank = 1
        and abs(seconds_from_close) <= 900

)

select * from final
