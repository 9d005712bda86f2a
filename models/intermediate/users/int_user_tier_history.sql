-- One row per user and tier period: which fee tier the user had from valid_from to valid_to.
-- Built from every delivered version of the user row (ordered by updated_at), so revenue is
-- attributed to the tier the user had when the fee was collected. The first period starts at
-- registration; the last is open (valid_to NULL).

with

versions as (

    select * from {{ ref('stg_exchange__user_versions') }}

),

tier_changes as (

    select
        user_id,
        tier_id,
        version_at,
        lag(tier_id) over (partition by user_id order by version_at) as previous_tier_id,
        row_number() over (partition by user_id order by version_at) as version_number
    from versions

),

periods as (

    select
        user_id,
        tier_id,
        version_at as valid_from,
        version_number
    from tier_changes
    where version_number = 1 or tier_id is distinct from previous_tier_id

),

final as (

    select
        user_id,
        tier_id,
        case when version_number = 1 then cast(null as timestamp) else valid_from end as valid_from,
        lead(valid_from) over (partition by user_id order by valid_from) as valid_to
    from periods

)

select * from final
