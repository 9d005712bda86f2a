with

source as (

    select * from {{ source('market_feeds', 'external_prices') }}

),

latest as (

    {{ latest_version('source', ['source', 'asset', 'observed_at'], table='external_prices') }}

),

renamed as (

    select
        source,
        asset,
        price_usd,
        observed_at,
        _loaded_at as loaded_at
    from latest

)

select * from renamed
