-- Engine candles, one row per pair and open time, each checked (docs/kpis.md#market-metrics): an
-- impossible candle (not 0 < low <= min(open, close), max(open, close) <= high), a candle of
-- another interval (a daily series delivered into the hourly table, or an open time off the hour)
-- and a key delivered more than once with different values are flagged here, so every model
-- downstream sees the flag (candle_quality_flag, is_usable_candle); none is passed on silently.
-- Interval: a delivery (file) whose candles of a pair are all at midnight and at least a day
-- apart (two or more of them) is a daily series. At one key, a candle of the table's own
-- interval (1h) wins over one of another interval; then the latest delivery wins
-- (latest_version), and a conflict between deliveries is flagged, not hidden.

{%- set ts = adapter.quote('timestamp') %}

with

source as {{ not_materialized() }} (

    select * from {{ source('exchange', 'market_data_1h') }}

),

spaced as (

    select
        pair_id,
        _source_file,
        {{ ts }} as opened_at,
        lead({{ ts }}) over (
            partition by pair_id, _source_file
            order by {{ ts }}
        ) as next_opened_at
    from source

),

delivery_intervals as (

    select
        pair_id,
        _source_file,
        case
            when count(*) >= 2
                and sum(case
                    when next_opened_at < {{ dbt.dateadd('day', 1, 'opened_at') }} then 1
                    else 0
                end) = 0
                and sum(case
                    when opened_at <> {{ dbt.date_trunc('day', 'opened_at') }} then 1
                    else 0
                end) = 0
                then '1d'
            else '1h'
        end as candle_interval
    from spaced
    group by pair_id, _source_file

),

classified as {{ not_materialized() }} (

    select
        source.*,
        delivery_intervals.candle_interval,
        case when delivery_intervals.candle_interval = '1h' then 1 else 0 end as interval_rank
    from source
    inner join delivery_intervals
        on source.pair_id = delivery_intervals.pair_id
        and source._source_file = delivery_intervals._source_file

),

deliveries as (

    -- Every delivery of a key at the kept interval: how many, and whether their values differ.
    select
        pair_id,
        {{ ts }} as opened_at,
        candle_interval,
        count(*) as delivery_count,
        max(open_price) <> min(open_price)
        or max(high_price) <> min(high_price)
        or max(low_price) <> min(low_price)
        or max(close_price) <> min(close_price)
        or max(volume) <> min(volume)
        or max(trade_count) <> min(trade_count) as has_conflicting_deliveries
    from classified
    group by pair_id, {{ ts }}, candle_interval

),

latest as (

    {{ latest_version('classified', ['pair_id', ts], version_column='interval_rank') }}

),

checked as (

    select
        latest.pair_id,
        latest.{{ ts }} as opened_at,
        latest.open_price,
        latest.high_price,
        latest.low_price,
        latest.close_price,
        latest.volume,
        latest.trade_count,
        latest.candle_interval,
        coalesce(
            latest.low_price > 0
            and latest.low_price <= least(latest.open_price, latest.close_price)
            and greatest(latest.open_price, latest.close_price) <= latest.high_price,
            false
        ) as is_valid_ohlc,
        latest.candle_interval = '1h'
        and latest.{{ ts }} = {{ dbt.date_trunc('hour', 'latest.' ~ ts) }} as is_expected_interval,
        deliveries.delivery_count,
        deliveries.has_conflicting_deliveries,
        latest._source_file as source_file,
        latest._loaded_at as loaded_at
    from latest
    inner join deliveries
        on latest.pair_id = deliveries.pair_id
        and latest.{{ ts }} = deliveries.opened_at
        and latest.candle_interval = deliveries.candle_interval

),

final as (

    select
        pair_id,
        opened_at,
        open_price,
        high_price,
        low_price,
        close_price,
        volume,
        trade_count,
        candle_interval,
        is_valid_ohlc,
        is_expected_interval,
        delivery_count,
        has_conflicting_deliveries,
        case
            when not is_valid_ohlc then 'impossible_ohlc'
            when not is_expected_interval then 'wrong_interval'
            when has_conflicting_deliveries then 'conflicting_deliveries'
        end as candle_quality_flag,
        is_valid_ohlc and is_expected_interval as is_usable_candle,
        source_file,
        loaded_at
    from checked

)

select * from final
