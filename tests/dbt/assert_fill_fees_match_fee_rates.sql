{{ config(store_failures=true, severity='warn', tags=['financial_integrity']) }}

-- docs/reliability.md#financial-integrity: a fill's fee equals its notional times its fee rate,
-- within a rounding tolerance. The rate follows the exchange's rule, which the simulator implements
-- (simulator/engine.py, fills): maker fills pay the pair's maker_fee_rate, taker
-- fills the trading_fee_rate of the tier the user had at the fill (tier history; the current
-- tier where none covers it). The fee is charged in the quote asset (quantity * price * rate,
-- rounded to 1e-8) or, when fee_asset is the base asset, in the base asset (quantity * rate).
-- Reads fct_trades, so it checks what BI tools see. Returns each fill whose fee is off, with
-- the fee expected.
-- The tier at the fill is stated here independently of fct_fee_collections and
-- int_user_tier_history (which collapse the user's versions into tier periods): straight from
-- the delivered user versions, as of the fill (the latest version at or before it; the first
-- version for a fill before any; the current tier for a user without versions), so a fault in
-- the tier periods shows here instead of being repeated.

with

fills as (

    select * from {{ ref('fct_trades') }}
    where {{ test_window_filter('executed_at', ref('fct_trades')) }}

),

pairs as (

    select * from {{ ref('stg_exchange__trading_pairs') }}

),

-- Each user's versions as the time each holds: from its version_at to the next version's
-- (the first version also before it). Only the versions are sorted, never the fills (a window
-- over every fill by user took 151 s of the `large` build, whale users making a few partitions
-- huge); a fill finds its version by a join on the user and its time.
versions as (

    select
        user_id,
        tier_id,
        version_at,
        lead(version_at) over (partition by user_id order by version_at) as next_version_at,
        row_number() over (partition by user_id order by version_at) = 1 as is_first_version
    from {{ ref('stg_exchange__user_versions') }}

),

users as (

    select user_id, tier_id from {{ ref('stg_exchange__users') }}

),

tiers as (

    select * from {{ ref('stg_exchange__user_tiers') }}

),

with_rate as (

    select
        fills.trade_id,
        fills.order_id,
        fills.user_id,
        fills.pair_id,
        fills.is_maker,
        fills.quantity,
        fills.price,
        fills.fee_amount,
        fills.fee_asset,
        pairs.base_asset,
        pairs.quote_asset,
        coalesce(tier_at_fill.tier_id, users.tier_id) as tier_id,
        case
            when fills.is_maker then pairs.maker_fee_rate
            else tiers.trading_fee_rate
        end as fee_rate,
        case
            when fills.fee_asset = pairs.quote_asset then fills.quantity * fills.price
            when fills.fee_asset = pairs.base_asset then fills.quantity
        end as fee_base,
        fills.executed_at
    from fills
    left join pairs
        on fills.pair_id = pairs.pair_id
    -- the latest version at or before the fill; the first version for a fill before any. The
    -- versions partition each user's time, so a fill meets one at most: joined here, not
    -- matched apart and joined back by trade_id (a second hash join over every fill).
    left join versions as tier_at_fill
        on fills.user_id = tier_at_fill.user_id
        and (tier_at_fill.is_first_version or fills.executed_at >= tier_at_fill.version_at)
        and (tier_at_fill.next_version_at is null or fills.executed_at < tier_at_fill.next_version_at)
    left join users
        on fills.user_id = users.user_id
    left join tiers
        on coalesce(tier_at_fill.tier_id, users.tier_id) = tiers.tier_id

),

compared as (

    select
        *,
        fee_base * fee_rate as expected_fee_amount
    from with_rate

)

select
    *,
    fee_amount - expected_fee_amount as difference,
    case
        when fee_base is null then 'fee asset is neither the base nor the quote asset of the pair'
        when fee_rate is null then 'no fee rate for the fill'
        else 'fee differs from notional times rate'
    end as failure_reason
from compared
where expected_fee_amount is null
    or abs(fee_amount - expected_fee_amount)
        > {{ var('integrity_fee_absolute_tolerance') }}
        + {{ var('integrity_fee_relative_tolerance') }} * abs(expected_fee_amount)
