-- One row per calendar month and fee tier: revenue in USD and its share of the month,
-- attributed to the tier the user had when each fee was collected.

with

fees as (

    select * from {{ ref('fct_fee_collections') }}

),

tiers as (

    select * from {{ ref('dim_user_tiers') }}

),

months as (

    select distinct month_start_date from {{ ref('dim_dates') }}

),

targets as (

    select * from {{ ref('kpi_targets') }}

),

tier_revenue as (

    select
        cast({{ dbt.date_trunc('month', 'collected_date') }} as date) as month_start_date,
        tier_id_at_collection as tier_id,
        sum(fee_usd) as revenue_usd
    from fees
    group by 1, 2

),

grid as (

    select
        months.month_start_date,
        tiers.tier_id,
        tiers.tier_name
    from months
    cross join tiers

),

final as (

    select
        grid.month_start_date,
        grid.tier_id,
        grid.tier_name,
        coalesce(tier_revenue.revenue_usd, 0) as revenue_usd,
        {{ safe_divide('coalesce(tier_revenue.revenue_usd, 0)',
                       'sum(coalesce(tier_revenue.revenue_usd, 0)) over (partition by grid.month_start_date)') }}
            as revenue_share,
        targets.target_value as revenue_share_target
    from grid
    left join tier_revenue
        on grid.month_start_date = tier_revenue.month_start_date
        and grid.tier_id = tier_revenue.tier_id
    left join targets
        on targets.metric = lower(grid.tier_name) || '_revenue_share'

)

-- Money as DECIMAL (macro money, docs/architecture.md) and counts as bigint: the types of
-- the contract (the model's YAML).
select
    month_start_date,
    tier_id,
    tier_name,
    {{ money('revenue_usd') }} as revenue_usd,
    revenue_share,
    revenue_share_target
from final
