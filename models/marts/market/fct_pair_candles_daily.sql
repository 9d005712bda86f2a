-- One row per trading pair and UTC day with at least one taker fill: daily OHLCV candles,
-- rolled up from the hourly fill candles. open = open of the day's first hourly candle,
-- close = close of its last (the same as the first and last fill of the day by
-- (executed_at, trade_id)); high/low = max/min; volumes and trade counts summed.

with

hourly as (

    select * from {{ ref('fct_pair_candles_hourly') }}

),

ranked as (

    select
        *,
        row_number() over (partition by pair_id, candle_date order by candle_hour asc) as rank_from_first,
        row_number() over (partition by pair_id, candle_date order by candle_hour desc) as rank_from_last
    from hourly

),

final as (

    select
        pair_id,
        max(symbol) as symbol,
        max(base_asset) as base_asset,
        max(quote_asset) as quote_asset,
        candle_date,
        max(case when rank_from_first = 1 then open_price end) as open_price,
        max(high_price) as high_price,
        min(low_price) as low_price,
        max(case when rank_from_last = 1 then close_price end) as close_price,
        sum(volume) as volume,
        sum(quote_volume) as quote_volume,
        sum(volume_usd) as volume_usd,
        cast(sum(trade_count) as {{ dbt.type_bigint() }}) as trade_count,
        count(*) as hours_traded,
        min(first_trade_at) as first_trade_at,
        max(last_trade_at) as last_trade_at
    from ranked
    group by pair_id, candle_date

)

-- Money as DECIMAL (macro money, docs/architecture.md) and counts as bigint: the types of
-- the contract (the model's YAML).
select
    pair_id,
    symbol,
    base_asset,
    quote_asset,
    candle_date,
    open_price,
    high_price,
    low_price,
    close_price,
    volume,
    quote_volume,
    {{ money('volume_usd') }} as volume_usd,
    trade_count,
    hours_traded,
    first_trade_at,
    last_trade_at
from final
