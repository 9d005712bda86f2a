-- One row per asset and hour: the asset's USD rate, the one valuation every USD amount uses
-- (models join it through the usd_rate_join macro). Stablecoins (seed `stablecoins`) have
-- their seed rate (1.0) at every hour of the spine. Any other asset: the close of its USDT
-- pair in the latest candle opened at or before the hour, carried forward over hours without
-- a candle; no row before its first candle (no rate is ever guessed). The spine runs from the
-- first to the last hour of anything valued: fills, fee collections, wallet transactions,
-- order-book snapshots and candles.

with

stablecoins as (

    select
        asset,
        cast(usd_rate as {{ type_double() }}) as usd_rate
    from {{ ref('stablecoins') }}

),

candles as (

    select
        pairs.base_asset as asset,
        candles.opened_at as rate_hour,
        candles.close_price as usd_rate
    from {{ ref('stg_exchange__market_data_1h') }} as candles
    inner join {{ ref('stg_exchange__trading_pairs') }} as pairs
        on candles.pair_id = pairs.pair_id
    where pairs.quote_asset = 'USDT'
        and pairs.base_asset not in (select asset from stablecoins)

),

event_times as (

    select min(executed_at) as first_event_at, max(executed_at) as last_event_at
    from {{ ref('stg_exchange__trades') }}
    union all
    select min(collected_at), max(collected_at) from {{ ref('stg_exchange__fee_collections') }}
    union all
    select min(created_at), max(created_at) from {{ ref('stg_exchange__transactions') }}
    union all
    select min(snapshot_at), max(snapshot_at) from {{ ref('stg_exchange__order_book_snapshots') }}
    union all
    select min(rate_hour), max(rate_hour) from candles

),

bounds as (

    select
        {{ dbt.date_trunc('hour', 'min(first_event_at)') }} as first_hour,
        {{ dbt.date_trunc('hour', 'max(last_event_at)') }} as last_hour
    from event_times

),

hours as (

    {{ time_spine('bounds', 'first_hour', 'last_hour', 'hour') }}

),

grid as (

    select
        assets.asset,
        hours.spine_at as rate_hour
    from (select distinct asset from candles) as assets
    cross join hours

),

with_gaps as (

    select
        grid.asset,
        grid.rate_hour,
        candles.usd_rate,
        -- Each candle starts a group; the hours after it until the next candle share it.
        count(candles.usd_rate) over (
            partition by grid.asset order by grid.rate_hour rows between unbounded preceding and current row
        ) as rate_group
    from grid
    left join candles
        on grid.asset = candles.asset
        and grid.rate_hour = candles.rate_hour

),

carried_forward as (

    select
        asset,
        rate_hour,
        cast(max(usd_rate) over (partition by asset, rate_group) as {{ type_double() }}) as usd_rate,
        usd_rate is null as is_carried_forward
    from with_gaps

),

stablecoin_hours as (

    select
        stablecoins.asset,
        hours.spine_at as rate_hour,
        stablecoins.usd_rate,
        false as is_carried_forward,
        true as is_stablecoin
    from stablecoins
    cross join hours

),

final as (

    select
        asset,
        rate_hour,
        usd_rate,
        is_carried_forward,
        false as is_stablecoin
    from carried_forward
    where usd_rate is not null

    union all

    select * from stablecoin_hours

)

select * from final
