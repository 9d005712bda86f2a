-- One row per base asset and UTC day: the pairs of each asset summed, with the asset's share
-- of the exchange's volume and trading-fee revenue.

with

pair_days as (

    select * from {{ ref('fct_pair_daily_performance') }}

),

asset_days as (

    select
        base_asset as asset,
        date_day,
        sum(trading_volume_usd) as trading_volume_usd,
        sum(base_volume) as base_volume,
        sum(trade_count) as trade_count,
        sum(trading_fee_revenue_usd) as trading_fee_revenue_usd,
        count(*) as pair_count
    from pair_days
    group by base_asset, date_day

),

final as (

    select
        *,
        {{ safe_divide('trading_volume_usd', 'sum(trading_volume_usd) over (partition by date_day)') }}
            as volume_share,
        {{ safe_divide('trading_fee_revenue_usd', 'sum(trading_fee_revenue_usd) over (partition by date_day)') }}
            as fee_revenue_share
    from asset_days

)

select * from final
