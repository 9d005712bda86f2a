-- One row per external source, asset and hourly candle (by open time) that the source observed
-- near the candle's close: the observation nearest to the close (candle_hour + 1 hour) among
-- those within half an hour of it, i.e. in the hour centred on the close. Each observation
-- belongs to one candle only: the one whose close is the full hour nearest to it. Ties (as far
-- before the close as after) go to the earlier observation.

with

prices as (

    select * from {{ ref('stg_market_feeds__external_prices') }}

),

with_close as (

    select
        source,
        asset,
        price_usd,
        observed_at,
        -- The full hour nearest to the observation: the close it is compared with.
        {{ dbt.date_trunc('hour', dbt.dateadd('minute', 30, 'observed_at')) }} as close_at
    from prices

),

ranked as (

    select
        *,
        row_number() over (
            partition by source, asset, close_at
            order by abs({{ dbt.datediff('close_at', 'observed_at', 'second') }}) asc, observed_at asc
        ) as nearest_rank
    from with_close

),

final as (

    select
        source,
        asset,
        cast({{ dbt.dateadd('hour', -1, 'close_at') }} as timestamp) as candle_hour,
        cast(price_usd as {{ type_double() }}) as price_usd,
        observed_at,
        {{ dbt.datediff('close_at', 'observed_at', 'second') }}             as seconds_from_close
    from ranked
    where nearest_rank = 1

)

select * from final
