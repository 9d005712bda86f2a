{{
    config(
        materialized='incremental',
        unique_key='fee_id',
        incremental_strategy=incremental_strategy(),
        on_schema_change='append_new_columns',
        tags=['incremental'],
        partition_by={'field': 'collected_date', 'data_type': 'date'} if target.type == 'bigquery' else none,
        cluster_by=['user_id'] if target.type == 'bigquery' else none,
    )
}}

-- One row per fee collection, valued in USD with the fee asset's rate at the collection hour
-- (int_asset_usd_rates_hourly through usd_rate_join; NULL where the asset has no rate).

with

fees as (

    select * from {{ ref('stg_exchange__fee_collections') }}
    where {{ incremental_window('collected_at') }}

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
