{{
    config(
        materialized='incremental',
        unique_key='fee_id',
        incremental_strategy=incremental_strategy(),
        on_schema_change='append_new_columns',
        tags=['daily_partitioned'],
        partition_by={'field': 'collected_date', 'data_type': 'date'} if target.type == 'bigquery' else none,
        cluster_by=['user_id'] if target.type == 'bigquery' else none,
    )
}}

-- One row per fee collection, valued in USD with the fee asset's rate at the collection hour.

with

fees as (

    select * from {{ ref('stg_exchange__fee_collections') }}
    where {{ incremental_window('collected_at') }}

),

stablecoins as (

    select * from {{ ref('stablecoins') }}

),

rates as (

    select * from {{ ref('int_asset_usd_rates_hourly') }}

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
        coalesce(stablecoins.usd_rate, rates.usd_rate) as fee_asset_usd_rate,
        cast(fees.fee_amount as {{ type_double() }}) * coalesce(stablecoins.usd_rate, rates.usd_rate) as fee_usd,
        fees.loaded_at
    from fees
    left join stablecoins
        on fees.fee_asset = stablecoins.asset
    left join rates
        on fees.fee_asset = rates.asset
        and {{ dbt.date_trunc('hour', 'fees.collected_at') }} = rates.rate_hour

)

select * from valued
