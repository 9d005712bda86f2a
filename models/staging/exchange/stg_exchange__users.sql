-- A table, not a view: the e-mail hash needs the key, which only dbt's sessions hold.
{{ config(materialized='table') }}

with

source as (

    select * from {{ source('exchange', 'users') }}

),

latest as (

    {{ latest_version('source', ['user_id'], table='users') }}

),

-- Deleted in the operational database (docs/deletes.md): flagged, never removed (AML).
deletions as (

    select
        row_key,
        deleted_at,
        loaded_at
    from {{ ref('stg_exchange__deletions') }}
    where table_name = 'users'

),

renamed as (

    select
        latest.user_id,
        {{ hash_email('latest.email') }} as email_hash,
        latest.created_at as registered_at,
        latest.last_login,
        latest.status,
        latest.user_tier_id as tier_id,
        latest.country_code,
        latest.referral_code,
        latest.referred_by,
        latest.updated_at,
        coalesce(deletions.loaded_at >= latest._loaded_at, false) as is_deleted,
        case when deletions.loaded_at >= latest._loaded_at then deletions.deleted_at end as deleted_at,
        latest._loaded_at as loaded_at
    from latest
    left join deletions
        on latest.user_id = deletions.row_key

)

select * from renamed
