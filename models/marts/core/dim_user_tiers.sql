-- One row per fee tier.

with

tiers as (

    select * from {{ ref('stg_exchange__user_tiers') }}

),

final as (

    select
        tier_id,
        tier_name,
        trading_fee_rate,
        withdrawal_limit_daily as withdrawal_limit_daily_usd,
        minimum_balance_requirement as minimum_balance_requirement_usd
    from tiers

)

select * from final
