-- A Dagster asset check of fct_daily_exchange_kpis (the test reads several models; orchestration/assets/dbt.py).
{{ config(meta={'dagster': {'ref': {'name': 'fct_daily_exchange_kpis'}}}) }}

-- docs/kpis.md: a day's revenue_usd is all fee collections collected that day, in USD, and
-- its trading and withdrawal parts those of their fee_type. Per UTC day, fct_daily_exchange_kpis
-- against fct_fee_collections summed independently; a fee day with no KPI row (outside the
-- date spine) fails too. Returns each day and figure that differ by more than a rounding
-- tolerance (1e-6 USD, relative above 1 USD).

with

collected as (

    select
        collected_date as kpi_date,
        coalesce(sum(fee_usd), 0) as revenue_usd,
        coalesce(sum(case when fee_type = 'trading_fee' then fee_usd end), 0) as trading_fee_revenue_usd,
        coalesce(sum(case when fee_type = 'withdrawal_fee' then fee_usd end), 0) as withdrawal_fee_revenue_usd
    from {{ ref('fct_fee_collections') }}
    group by collected_date

),

reported as (

    select kpi_date, revenue_usd, trading_fee_revenue_usd, withdrawal_fee_revenue_usd
    from {{ ref('fct_daily_exchange_kpis') }}

),

compared as (

    {% for figure in ['revenue_usd', 'trading_fee_revenue_usd', 'withdrawal_fee_revenue_usd'] %}
    select
        coalesce(collected.kpi_date, reported.kpi_date) as kpi_date,
        '{{ figure }}' as figure,
        reported.kpi_date is not null as has_kpi_row,
        collected.{{ figure }} as fee_collections_usd,
        reported.{{ figure }} as reported_usd
    from collected
    full outer join reported
        on collected.kpi_date = reported.kpi_date
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select *
from compared
where not has_kpi_row
    or abs(coalesce(fee_collections_usd, 0) - coalesce(reported_usd, 0))
        > 0.000001 * greatest(1, abs(coalesce(fee_collections_usd, 0)))
