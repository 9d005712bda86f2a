-- One row per asset and hour: the asset's USD rate (SPEC section 3).
-- Rate = close of the asset's USDT pair in the latest candle opened at or before the hour,
-- carried forward over hours without a candle. Stablecoins (seed) are 1.0 at every hour.

with

candles as (

    select
        pairs.base_asset as asset,
        candles.opened_at as rate_hour,
        candles.close_price as usd_rate
    from {{ ref('stg_exchange__market_data_1h') }} as candles
    inner join {{ ref('stg_exchange__trading_pairs') }} as pairs
        on candles.pair_id = pairs.pair_id
    where pairs.quote_asset = 'USDT'

),

event_hours as (

    select max(executed_at) as last_event_at from {{ ref('stg_exchange__trades') }}
    union all
    select max(collected_at) from {{ ref('stg_exchange__fee_collections') }}
    union all
    select max(created_at) from {{ ref('stg_exchange__transactions') }}
    union all
    select max(rate_hour) from candles

),

bounds as (

    select
        (select min(rate_hour) from candles) as first_hour,
        {{ dbt.date_trunc('hour', 'max(last_event_at)') }} as last_hour
    from event_hours

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

final as (

    select * from carried_forward
    where usd_rate is not null

)

select * from final
