with

source as (

    select * from {{ source('exchange', 'user_tiers') }}

),

latest as (

    {{ latest_version('source', ['id'], table='user_tiers') }}

),

renamed as (

    select
        id as tier_id,
        tier_name,
        trading_fee_rate,
        withdrawal_limit_daily,
        minimum_balance_requirement,
        _loaded_at as loaded_at
    from latest

)

select * from renamed
