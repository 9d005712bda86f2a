-- The 20 traders with the most volume in the last 30 days of data, with their tier, KYC and
-- the fees they paid: who the VIP desk should know. Volume here is the user's own fills
-- (maker and taker), so it does not add up to the exchange's trading_volume_usd, which
-- counts each match once (taker side).
-- dbt compile --select top_traders_last_30_days

with

trades as (

    select * from {{ ref('fct_trades') }}

),

users as (

    select * from {{ ref('dim_users') }}

),

last_day as (

    select max(executed_date) as last_trade_date from trades

),

user_volume as (

    select
        trades.user_id,
        count(*) as fills,
        sum(trades.notional_usd) as volume_usd,
        sum(trades.fee_usd) as fees_usd,
        count(distinct trades.symbol) as pairs_traded
    from trades
    cross join last_day
    -- [E - 29, E]: the same 30-day window as the activity and churn metrics.
    where trades.executed_date > cast({{ dbt.dateadd('day', -30, 'last_day.last_trade_date') }} as date)
    group by trades.user_id

)

select
    user_volume.user_id,
    users.tier_name,
    users.country_code,
    users.kyc_status,
    user_volume.fills,
    user_volume.volume_usd,
    user_volume.fees_usd,
    user_volume.pairs_traded
from user_volume
inner join users
    on user_volume.user_id = users.user_id
order by user_volume.volume_usd desc, user_volume.user_id asc
limit 20
