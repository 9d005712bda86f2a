-- A table, not a view: the e-mail hash needs the key, which only dbt's sessions hold.
{{ config(materialized='table') }}

with

source as (

    select * from {{ source('exchange', 'users') }}

),

latest as (

    {{ latest_version('source', ['user_id'], table='users') }}

),

renamed as (

    select
        user_id,
        {{ hash_email('email') }} as email_hash,
        created_at as registered_at,
        last_login,
        status,
        user_tier_id as tier_id,
        country_code,
        referral_code,
        referred_by,
        updated_at,
        _loaded_at as loaded_at
    from latest

)

select * from renamed
