-- One row per user and residence period: the country of residence the user row said from
-- valid_from to valid_to (docs/aml_rules.md, high_risk_country judges the country as it was when
-- the transfer happened). Built like int_user_tier_history from every delivered version of the
-- user row, ordered by updated_at; a new period starts only where the country changes. The
-- first period has valid_from NULL: a time before the first delivered version takes the
-- earliest version's country (the source keeps no older fact). The last is open (valid_to NULL).

with

versions as (

    select
        user_id,
        country_code,
        version_at
    from {{ ref('stg_exchange__user_versions') }}

),

country_changes as (

    select
        user_id,
        country_code,
        version_at,
        lag(country_code) over (partition by user_id order by version_at) as previous_country_code,
        row_number() over (partition by user_id order by version_at) as version_number
    from versions

),

periods as (

    select
        user_id,
        country_code,
        version_at as valid_from,
        version_number
    from country_changes
    where version_number = 1 or country_code is distinct from previous_country_code

),

final as (

    select
        user_id,
        country_code,
        case when version_number = 1 then cast(null as timestamp) else valid_from end as valid_from,
        lead(valid_from) over (partition by user_id order by valid_from) as valid_to
    from periods

)

select * from final
