-- One row per gap in a candle series of market_data_1h (docs/kpis.md#market-metrics: each series
-- continuous at its interval, gaps reported per pair with their length). A series is a pair at one
-- interval (candle_interval of stg_exchange__market_data_1h: 1h, or 1d for a daily series
-- delivered into the table); a gap is a run of missing intervals between two candles of the
-- series. Every candle counts as present, flagged or not (its flag is reported there).
-- The warn test assert_market_data_series_are_continuous lists these rows.

with

candles as (

    select
        pair_id,
        candle_interval,
        opened_at,
        lead(opened_at) over (
            partition by pair_id, candle_interval
            order by opened_at
        ) as next_opened_at
    from {{ ref('stg_exchange__market_data_1h') }}

),

pairs as (

    select * from {{ ref('stg_exchange__trading_pairs') }}

),

spans as (

    select
        pair_id,
        candle_interval,
        opened_at as previous_candle_at,
        next_opened_at as next_candle_at,
        case
            when candle_interval = '1d'
                then {{ dbt.datediff('opened_at', 'next_opened_at', 'day') }}
            else {{ dbt.datediff('opened_at', 'next_opened_at', 'hour') }}
        end - 1 as missing_intervals
    from candles
    where next_opened_at is not null

),

final as (

    select
        spans.pair_id,
        pairs.symbol,
        spans.candle_interval,
        spans.previous_candle_at,
        spans.next_candle_at,
        case
            when spans.candle_interval = '1d'
                then {{ dbt.dateadd('day', 1, 'spans.previous_candle_at') }}
            else {{ dbt.dateadd('hour', 1, 'spans.previous_candle_at') }}
        end as gap_start_at,
        case
            when spans.candle_interval = '1d'
                then {{ dbt.dateadd('day', -1, 'spans.next_candle_at') }}
            else {{ dbt.dateadd('hour', -1, 'spans.next_candle_at') }}
        end as gap_end_at,
        cast(spans.missing_intervals as {{ dbt.type_int() }}) as missing_intervals
    from spans
    left join pairs
        on spans.pair_id = pairs.pair_id
    where spans.missing_intervals > 0

)

select * from final
