-- One row per trading pair and UTC day (the grid of fct_pair_liquidity_daily): how the
-- exchange's price compares with the external reference and how much of the exchange's volume
-- the pair carries over time.
-- Deviation figures average the hourly deviations of fct_external_price_deviations_hourly over
-- the day (all sources, and per source), of the close and of the order-book mid.
-- volume_share_7d is the pair's share of the exchange's USD volume over the 7 days ending that
-- day; volume_share_rank ranks the pairs by that day's volume (1 = largest).

with

liquidity as (

    select * from {{ ref('fct_pair_liquidity_daily') }}

),

deviations as (

    select * from {{ ref('fct_external_price_deviations_hourly') }}

),

deviation_daily as (

    select
        pair_id,
        candle_date as date_day,
        avg(deviation_bps) as avg_deviation_bps,
        avg(abs_deviation_bps) as avg_abs_deviation_bps,
        max(abs_deviation_bps) as max_abs_deviation_bps,
        avg(mid_deviation_bps) as avg_mid_deviation_bps,
        avg(abs(mid_deviation_bps)) as avg_abs_mid_deviation_bps,
        avg(case when source = 'coingecko' then deviation_bps end) as avg_deviation_bps_coingecko,
        avg(case when source = 'coinmarketcap' then deviation_bps end) as avg_deviation_bps_coinmarketcap,
        count(*) as compared_hour_count,
        sum(case when is_deviation_alert then 1 else 0 end) as deviation_alert_count
    from deviations
    group by pair_id, candle_date

),

joined as (

    select
        liquidity.date_day,
        liquidity.pair_id,
        liquidity.symbol,
        liquidity.base_asset,
        liquidity.quote_asset,
        cast(deviation_daily.avg_deviation_bps as {{ type_double() }}) as avg_deviation_bps,
        cast(deviation_daily.avg_abs_deviation_bps as {{ type_double() }}) as avg_abs_deviation_bps,
        cast(deviation_daily.max_abs_deviation_bps as {{ type_double() }}) as max_abs_deviation_bps,
        cast(deviation_daily.avg_mid_deviation_bps as {{ type_double() }}) as avg_mid_deviation_bps,
        cast(deviation_daily.avg_abs_mid_deviation_bps as {{ type_double() }}) as avg_abs_mid_deviation_bps,
        cast(deviation_daily.avg_deviation_bps_coingecko as {{ type_double() }})
            as avg_deviation_bps_coingecko,
        cast(deviation_daily.avg_deviation_bps_coinmarketcap as {{ type_double() }})
            as avg_deviation_bps_coinmarketcap,
        coalesce(deviation_daily.compared_hour_count, 0) as compared_hour_count,
        coalesce(deviation_daily.deviation_alert_count, 0) as deviation_alert_count,
        liquidity.avg_spread_bps,
        liquidity.trading_volume_usd,
        liquidity.volume_share
    from liquidity
    left join deviation_daily
        on liquidity.pair_id = deviation_daily.pair_id
        and liquidity.date_day = deviation_daily.date_day

),

rolling as (

    select
        *,
        sum(trading_volume_usd) over (
            partition by pair_id order by date_day rows between 6 preceding and current row
        ) as trading_volume_usd_7d
    from joined

),

final as (

    select
        date_day,
        pair_id,
        symbol,
        base_asset,
        quote_asset,
        avg_deviation_bps,
        avg_abs_deviation_bps,
        max_abs_deviation_bps,
        avg_mid_deviation_bps,
        avg_abs_mid_deviation_bps,
        avg_deviation_bps_coingecko,
        avg_deviation_bps_coinmarketcap,
        compared_hour_count,
        deviation_alert_count,
        avg_spread_bps,
        trading_volume_usd,
        volume_share,
        trading_volume_usd_7d,
        {{ safe_divide('trading_volume_usd_7d', 'sum(trading_volume_usd_7d) over (partition by date_day)') }}
            as volume_share_7d,
        rank() over (partition by date_day order by trading_volume_usd desc) as volume_share_rank
    from rolling

)

-- Money as DECIMAL (macro money, docs/architecture.md) and counts as bigint: the types of
-- the contract (the model's YAML).
select
    date_day,
    pair_id,
    symbol,
    base_asset,
    quote_asset,
    avg_deviation_bps,
    avg_abs_deviation_bps,
    max_abs_deviation_bps,
    avg_mid_deviation_bps,
    avg_abs_mid_deviation_bps,
    avg_deviation_bps_coingecko,
    avg_deviation_bps_coinmarketcap,
    compared_hour_count,
    cast(deviation_alert_count as bigint) as deviation_alert_count,
    avg_spread_bps,
    {{ money('trading_volume_usd') }} as trading_volume_usd,
    volume_share,
    {{ money('trading_volume_usd_7d') }} as trading_volume_usd_7d,
    volume_share_7d,
    volume_share_rank
from final
