-- Every distinct delivered version of each user row (replays removed), for the tier and
-- country-of-residence histories (int_user_tier_history, int_user_country_history).
-- stg_exchange__users keeps only the latest version.

with

source as (

    select * from {{ source('exchange', 'users') }}

),

versions as (

    select
        user_id,
        user_tier_id as tier_id,
        status,
        country_code,
        coalesce(updated_at, created_at) as version_at
    from source

),

final as (

    select distinct
        user_id,
        tier_id,
        status,
        country_code,
        version_at
    from versions

)

select * from final
