-- One row per user: profile, current tier, KYC state and trading dates. No clear e-mail
-- (only its keyed hash) and no IP address.

with

users as (

    select * from {{ ref('stg_exchange__users') }}

),

tiers as (

    select * from {{ ref('stg_exchange__user_tiers') }}

),

kyc as (

    select * from {{ ref('stg_exchange__user_kyc') }}

),

trading as (

    select
        user_id,
        min(first_trade_date) as first_trade_date,
        max(last_trade_date) as last_trade_date
    from {{ ref('int_user_activity_spells') }}
    group by user_id

),

final as (

    select
        users.user_id,
        users.email_hash,
        users.registered_at,
        {{ to_day('users.registered_at') }} as registration_date,
        users.status as user_status,
        users.tier_id,
        tiers.tier_name,
        users.country_code,
        users.referred_by as referred_by_user_id,
        users.referred_by is not null as is_referred,
        coalesce(kyc.kyc_level, 0) as kyc_level,
        coalesce(kyc.verification_status, 'none') as kyc_status,
        kyc.approved_at as kyc_approved_at,
        kyc.risk_score as kyc_risk_score,
        -- the KYC record deleted in the operational database: its last state kept, flagged
        coalesce(kyc.is_deleted, false) as kyc_is_deleted,
        kyc.deleted_at as kyc_deleted_at,
        trading.first_trade_date,
        trading.last_trade_date,
        trading.first_trade_date is not null as has_traded,
        -- deleted in the operational database: kept for AML, flagged (docs/deletes.md)
        users.is_deleted,
        users.deleted_at
    from users
    left join tiers
        on users.tier_id = tiers.tier_id
    left join kyc
        on users.user_id = kyc.user_id
    left join trading
        on users.user_id = trading.user_id

)

select * from final
