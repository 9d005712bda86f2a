-- One row per trading pair and UTC day (every day of data, every pair that ever traded):
-- volume, fills, traders and trading-fee revenue in USD, and their share of the exchange.

with

days as (

    select date_day from {{ ref('dim_dates') }}

),

pairs as (

    select * from {{ ref('dim_trading_pairs') }}

),

trades as (

    select * from {{ ref('int_trades_valued') }}

),

fees as (

    select * from {{ ref('int_fee_collections_valued') }}

),

pair_trading as (

    select
        pair_id,
        executed_date as date_day,
        sum(case when is_maker = false then notional_usd end) as trading_volume_usd,
        sum(case when is_maker = false then quantity end) as base_volume,
        count(*) as trade_count,
        count(distinct user_id) as active_traders
    from trades
    group by pair_id, executed_date

),

pair_fees as (

    select
        pair_id,
        collected_date as date_day,
        sum(fee_usd) as trading_fee_revenue_usd
    from fees
    where fee_type = 'trading_fee'
    group by pair_id, collected_date

),

traded_pairs as (

    select pair_id from pair_trading
    group by pair_id

),

grid as (

    select
        days.date_day,
        pairs.pair_id,
        pairs.symbol,
        pairs.base_asset,
        pairs.quote_asset
    from days
    cross join pairs
    where pairs.pair_id in (select pair_id from traded_pairs)

),

joined as (

    select
        grid.date_day,
        grid.pair_id,
        grid.symbol,
        grid.base_asset,
        grid.quote_asset,
        coalesce(pair_trading.trading_volume_usd, 0) as trading_volume_usd,
        coalesce(pair_trading.base_volume, 0) as base_volume,
        coalesce(pair_trading.trade_count, 0) as trade_count,
        coalesce(pair_trading.active_traders, 0) as active_traders,
        coalesce(pair_fees.trading_fee_revenue_usd, 0) as trading_fee_revenue_usd
    from grid
    left join pair_trading
        on grid.pair_id = pair_trading.pair_id
        and grid.date_day = pair_trading.date_day
    left join pair_fees
        on grid.pair_id = pair_fees.pair_id
        and grid.date_day = pair_fees.date_day

),

final as (

    select
        *,
        {{ safe_divide('trading_volume_usd', 'sum(trading_volume_usd) over (partition by date_day)') }}
            as volume_share,
        {{ safe_divide('trading_fee_revenue_usd', 'sum(trading_fee_revenue_usd) over (partition by date_day)') }}
            as fee_revenue_share
    from joined

)

select * from final
