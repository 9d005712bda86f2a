-- One row per trading pair and hour that has a fill candle (fct_pair_candles_hourly), an engine
-- candle (market_data_1h), or both: the two candles side by side and their differences.
-- Price differences are fill minus engine, also in bps of the engine's price; volume difference
-- in % of the engine's volume. A row is within tolerance when every price differs by at most
-- var('candle_price_tolerance_bps'), the volume by at most var('candle_volume_tolerance_pct')
-- and the trade count by at most var('candle_trade_count_tolerance'). An engine candle of an
-- hour without trades (trade_count 0, volume 0) needs no fill candle. An engine candle flagged
-- in staging (impossible OHLC, another interval: docs/kpis.md#market-metrics) keeps its flag here
-- and is never within tolerance (discrepancy_type impossible_engine_candle / wrong_interval).

{%- set price_tolerance_bps = var('candle_price_tolerance_bps') %}
{%- set volume_tolerance_pct = var('candle_volume_tolerance_pct') %}
{%- set trade_count_tolerance = var('candle_trade_count_tolerance') %}

with

fill_candles as (

    select * from {{ ref('fct_pair_candles_hourly') }}

),

engine_candles as (

    select * from {{ ref('stg_exchange__market_data_1h') }}

),

pairs as (

    select * from {{ ref('stg_exchange__trading_pairs') }}

),

joined as (

    select
        coalesce(fill_candles.pair_id, engine_candles.pair_id) as pair_id,
        coalesce(fill_candles.candle_hour, engine_candles.opened_at) as candle_hour,
        fill_candles.pair_id is not null as has_fill_candle,
        engine_candles.pair_id is not null as has_engine_candle,
        fill_candles.open_price as fill_open_price,
        fill_candles.high_price as fill_high_price,
        fill_candles.low_price as fill_low_price,
        fill_candles.close_price as fill_close_price,
        fill_candles.volume as fill_volume,
        fill_candles.trade_count as fill_trade_count,
        engine_candles.open_price as engine_open_price,
        engine_candles.high_price as engine_high_price,
        engine_candles.low_price as engine_low_price,
        engine_candles.close_price as engine_close_price,
        engine_candles.volume as engine_volume,
        engine_candles.trade_count as engine_trade_count,
        engine_candles.candle_quality_flag as engine_candle_quality_flag,
        coalesce(engine_candles.is_usable_candle, true) as is_engine_candle_usable
    from fill_candles
    full outer join engine_candles
        on fill_candles.pair_id = engine_candles.pair_id
        and fill_candles.candle_hour = engine_candles.opened_at

),

differences as (

    select
        *,
        {%- for price in ['open', 'high', 'low', 'close'] %}
            fill_{{ price }}_price - engine_{{ price }}_price as {{ price }}_price_diff,
        {{ safe_divide(
            '(fill_' ~ price ~ '_price - engine_' ~ price ~ '_price) * 10000',
            'engine_' ~ price ~ '_price'
        ) }} as {{ price }}_price_diff_bps,
        {%- endfor %}
        fill_volume - engine_volume as volume_diff,
        {{ safe_divide('(fill_volume - engine_volume) * 100', 'engine_volume') }} as volume_diff_pct,
        fill_trade_count - engine_trade_count as trade_count_diff
    from joined

),

checked as (

    select
        *,
        greatest(
            abs(open_price_diff_bps),
            abs(high_price_diff_bps),
            abs(low_price_diff_bps),
            abs(close_price_diff_bps)
        ) as max_abs_price_diff_bps,
        coalesce(
            abs(open_price_diff_bps) <= {{ price_tolerance_bps }}
            and abs(high_price_diff_bps) <= {{ price_tolerance_bps }}
            and abs(low_price_diff_bps) <= {{ price_tolerance_bps }}
            and abs(close_price_diff_bps) <= {{ price_tolerance_bps }},
            false
        ) as is_price_within_tolerance,
        coalesce(
            case
                when engine_volume = 0 then fill_volume = 0
                else abs(volume_diff_pct) <= {{ volume_tolerance_pct }}
            end,
            false
        ) as is_volume_within_tolerance,
        coalesce(abs(trade_count_diff) <= {{ trade_count_tolerance }}, false)
            as is_trade_count_within_tolerance,
        coalesce(not has_fill_candle and engine_trade_count = 0 and engine_volume = 0, false)
            as is_empty_engine_hour
    from differences

),

final as (

    select
        checked.pair_id,
        pairs.symbol,
        checked.candle_hour,
        {{ to_day('checked.candle_hour') }} as candle_date,
        checked.has_fill_candle,
        checked.has_engine_candle,
        checked.fill_open_price,
        checked.engine_open_price,
        checked.open_price_diff,
        checked.open_price_diff_bps,
        checked.fill_high_price,
        checked.engine_high_price,
        checked.high_price_diff,
        checked.high_price_diff_bps,
        checked.fill_low_price,
        checked.engine_low_price,
        checked.low_price_diff,
        checked.low_price_diff_bps,
        checked.fill_close_price,
        checked.engine_close_price,
        checked.close_price_diff,
        checked.close_price_diff_bps,
        checked.max_abs_price_diff_bps,
        checked.fill_volume,
        checked.engine_volume,
        checked.volume_diff,
        checked.volume_diff_pct,
        checked.fill_trade_count,
        checked.engine_trade_count,
        checked.trade_count_diff,
        checked.engine_candle_quality_flag,
        checked.is_engine_candle_usable,
        checked.is_price_within_tolerance,
        checked.is_volume_within_tolerance,
        checked.is_trade_count_within_tolerance,
        case
            when not checked.is_engine_candle_usable then false
            when checked.is_empty_engine_hour then true
            else checked.is_price_within_tolerance
                and checked.is_volume_within_tolerance
                and checked.is_trade_count_within_tolerance
        end as is_within_tolerance,
        case
            when checked.engine_candle_quality_flag = 'impossible_ohlc'
                then 'impossible_engine_candle'
            when not checked.is_engine_candle_usable then 'wrong_interval'
            when checked.is_empty_engine_hour then null
            when not checked.has_engine_candle then 'missing_in_engine'
            when not checked.has_fill_candle then 'missing_in_fills'
            when not checked.is_price_within_tolerance then 'price'
            when not checked.is_volume_within_tolerance then 'volume'
            when not checked.is_trade_count_within_tolerance then 'trade_count'
        end as discrepancy_type
    from checked
    left join pairs
        on checked.pair_id = pairs.pair_id

)

select * from final
