-- One row per trading pair, hour and external source where the source observed the pair's
-- base asset within half an hour of the candle's close: the exchange's hourly close in USD
-- against the external reference price (docs/kpis.md#market-metrics), and the order book beside it.
-- exchange_close_usd = close_price (market_data_1h) * USD rate of the quote asset at the
-- candle's hour (int_asset_usd_rates_hourly through usd_rate_join: stablecoins 1.0).
-- External price: the source's observation nearest to the close
-- (int_external_prices_matched_hourly).
-- deviation_bps = (exchange_close_usd - external_price_usd) / external_price_usd * 10,000;
-- mid_deviation_bps the same for the order-book mid at the close
-- (int_order_book_mids_matched_hourly), valued with the mid of the quote asset's USDT pair at
-- the same close (a stablecoin quote at its rate of int_asset_usd_rates_hourly, 1.0).
-- Alert: |deviation_bps| > var('external_price_deviation_alert_bps') and the book agrees
-- (|mid_deviation_bps| past the threshold too, or no usable snapshot): a close that is only
-- stale (no trade for a while, the market moved on) is no alert.

{{ config(pre_hook=postgres_hash_joins()) }}

{%- set threshold_bps = var('external_price_deviation_alert_bps') %}

with

engine_candles as (

    select * from {{ ref('stg_exchange__market_data_1h') }}

),

pairs as (

    select * from {{ ref('stg_exchange__trading_pairs') }}

),

external_prices as (

    select * from {{ ref('int_external_prices_matched_hourly') }}

),

book_mids as (

    select * from {{ ref('int_order_book_mids_matched_hourly') }}

),

quote_mids as (

    -- The USD rate of an asset from the book of its USDT pair (as section 3 uses USDT pairs).
    select
        pairs.base_asset as asset,
        book_mids.candle_hour,
        cast(book_mids.mid_price as {{ type_double() }}) as usd_rate
    from book_mids
    inner join pairs
        on book_mids.pair_id = pairs.pair_id
    where pairs.quote_asset = 'USDT'

),

closes as (

    select
        engine_candles.pair_id,
        pairs.symbol,
        pairs.base_asset,
        pairs.quote_asset,
        engine_candles.opened_at as candle_hour,
        engine_candles.close_price,
        engine_candles.trade_count,
        engine_candles.candle_quality_flag as engine_candle_quality_flag,
        cast(quote_rates.usd_rate as {{ type_double() }}) as quote_usd_rate,
        cast(
            case when quote_rates.is_stablecoin then quote_rates.usd_rate else quote_mids.usd_rate end
            as {{ type_double() }}
        ) as quote_mid_usd_rate
    from engine_candles
    inner join pairs
        on engine_candles.pair_id = pairs.pair_id
    {{ usd_rate_join('quote_rates', 'pairs.quote_asset', 'engine_candles.opened_at') }}
    left join quote_mids
        on pairs.quote_asset = quote_mids.asset
        and engine_candles.opened_at = quote_mids.candle_hour

),

compared as (

    select
        closes.pair_id,
        closes.symbol,
        closes.base_asset,
        closes.quote_asset,
        closes.candle_hour,
        {{ to_day('closes.candle_hour') }} as candle_date,
        external_prices.source,
        closes.close_price,
        closes.trade_count,
        closes.engine_candle_quality_flag,
        closes.quote_usd_rate,
        cast(closes.close_price as {{ type_double() }}) * closes.quote_usd_rate as exchange_close_usd,
        cast(book_mids.mid_price as {{ type_double() }}) * closes.quote_mid_usd_rate as exchange_mid_usd,
        external_prices.price_usd as external_price_usd,
        external_prices.observed_at as external_observed_at,
        external_prices.seconds_from_close
    from closes
    inner join external_prices
        on closes.base_asset = external_prices.asset
        and closes.candle_hour = external_prices.candle_hour
    left join book_mids
        on closes.pair_id = book_mids.pair_id
        and closes.candle_hour = book_mids.candle_hour

),

deviations as (

    select
        *,
        {{ safe_divide('(exchange_close_usd - external_price_usd) * 10000', 'external_price_usd') }}
            as deviation_bps,
        {{ safe_divide('(exchange_mid_usd - external_price_usd) * 10000', 'external_price_usd') }}
            as mid_deviation_bps
    from compared

),

final as (

    select
        pair_id,
        symbol,
        base_asset,
        quote_asset,
        candle_hour,
        candle_date,
        source,
        close_price,
        trade_count,
        engine_candle_quality_flag,
        quote_usd_rate,
        exchange_close_usd,
        exchange_mid_usd,
        external_price_usd,
        external_observed_at,
        seconds_from_close,
        deviation_bps,
        abs(deviation_bps) as abs_deviation_bps,
        mid_deviation_bps,
        coalesce(
            abs(deviation_bps) > {{ threshold_bps }}
            and (mid_deviation_bps is null or abs(mid_deviation_bps) > {{ threshold_bps }}),
            false
        ) as is_deviation_alert
    from deviations

)

select * from final
