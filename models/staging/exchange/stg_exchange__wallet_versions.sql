-- Every distinct delivered version of each wallet row (replays removed): the balances the
-- wallet service reported over time. stg_exchange__wallets keeps only the latest version;
-- the integrity test of docs/reliability.md#financial-integrity (no negative balance) reads every
-- version, so a balance that went negative and was later corrected is still reported. A view: the
-- test reads only the negative rows of it.

with

source as (

    select * from {{ source('exchange', 'wallets') }}

),

versions as (

    select distinct
        wallet_id,
        user_id,
        asset,
        balance,
        locked_balance,
        updated_at
    from source

)

select * from versions
