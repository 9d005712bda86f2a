{{ config(
    store_failures=true, severity='warn', tags=['financial_integrity'],
    meta={'dagster': {'ref': {'name': 'fct_fee_collections'}}},
) }}

-- docs/reliability.md#financial-integrity: trading fees in fee_collections reconcile with the fees
-- on the fills, per UTC day and fee asset. Returns each day and asset where the two sums differ by
-- more than the fee tolerance (absolute per fill, summed).

with

collected as (

    select
        collected_date as fee_date,
        fee_asset,
        count(*) as collection_count,
        sum(fee_amount) as collected_fee_amount
    from {{ ref('fct_fee_collections') }}
    where fee_type = 'trading_fee'
        and {{ test_window_filter('collected_at', ref('fct_trades'), reference_column='executed_at') }}
    group by collected_date, fee_asset

),

charged as (

    select
        executed_date as fee_date,
        fee_asset,
        count(*) as fill_count,
        sum(fee_amount) as charged_fee_amount
    from {{ ref('fct_trades') }}
    where fee_amount <> 0
        and {{ test_window_filter('executed_at', ref('fct_trades')) }}
    group by executed_date, fee_asset

),

compared as (

    select
        coalesce(collected.fee_date, charged.fee_date) as fee_date,
        coalesce(collected.fee_asset, charged.fee_asset) as fee_asset,
        coalesce(collected.collection_count, 0) as collection_count,
        coalesce(charged.fill_count, 0) as fill_count,
        coalesce(collected.collected_fee_amount, 0) as collected_fee_amount,
        coalesce(charged.charged_fee_amount, 0) as charged_fee_amount
    from collected
    full outer join charged
        on collected.fee_date = charged.fee_date
        and collected.fee_asset = charged.fee_asset

)

select
    *,
    collected_fee_amount - charged_fee_amount as difference
from compared
where abs(collected_fee_amount - charged_fee_amount)
    > {{ var('integrity_fee_absolute_tolerance') }} * greatest(collection_count, fill_count, 1)
