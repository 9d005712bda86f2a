-- A view, not a stored table: the fee collections are stored once, in
-- stg_exchange__fee_collections (docs/reliability.md#scale-and-speed: at `large`, writing the
-- valued copy took 29.4 s, reading it through the rate join 0.9 s). Its readers pay the rate
-- join on the rows they read.
{{ config(materialized='view') }}

-- One row per fee collection, valued in USD with the fee asset's rate at the collection hour
-- (int_asset_usd_rates_hourly through usd_rate_join; NULL where the asset has no rate).

with

fees as (

    select * from {{ ref('stg_exchange__fee_collections') }}

),

valued as (

    select
        fees.fee_id,
        fees.user_id,
        fees.fee_type,
        fees.fee_amount,
        fees.fee_asset,
        fees.pair_id,
        fees.collected_at,
        {{ to_day('fees.collected_at') }} as collected_date,
        rates.usd_rate as fee_asset_usd_rate,
        cast(fees.fee_amount as {{ type_double() }}) * rates.usd_rate as fee_usd,
        fees.loaded_at
    from fees
    {{ usd_rate_join('rates', 'fees.fee_asset', 'fees.collected_at') }}

)

select * from valued
