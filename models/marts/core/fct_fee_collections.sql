-- A view over the incremental intermediate table: no second copy of the largest fact.
{{ config(materialized='view') }}

-- One row per fee collection, in USD, with the tier the user had when it was collected.

with

fees as (

    select * from {{ ref('int_fee_collections_valued') }}

),

tier_history as (

    select * from {{ ref('int_user_tier_history') }}

),

users as (

    select
        user_id,
        tier_id
    from {{ ref('stg_exchange__users') }}

),

tiers as (

    select * from {{ ref('stg_exchange__user_tiers') }}

),

with_tier as (

    select
        fees.*,
        -- The tier at collection time; the current tier where no history covers it.
        coalesce(tier_history.tier_id, users.tier_id) as tier_id_at_collection
    from fees
    left join tier_history
        on fees.user_id = tier_history.user_id
        and (tier_history.valid_from is null or fees.collected_at >= tier_history.valid_from)
        and (tier_history.valid_to is null or fees.collected_at < tier_history.valid_to)
    left join users
        on fees.user_id = users.user_id

),

final as (

    select
        with_tier.fee_id,
        with_tier.user_id,
        with_tier.fee_type,
        with_tier.fee_amount,
        with_tier.fee_asset,
        with_tier.pair_id,
        with_tier.fee_asset_usd_rate,
        with_tier.fee_usd,
        with_tier.tier_id_at_collection,
        tiers.tier_name as tier_name_at_collection,
        with_tier.collected_at,
        with_tier.collected_date
    from with_tier
    left join tiers
        on with_tier.tier_id_at_collection = tiers.tier_id

)

select * from final
