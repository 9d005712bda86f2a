-- Revenue by user tier per month, beside the design document's target mix (VIP 60%, Pro 30%,
-- Basic 10%). Fees count for the tier the user had when the fee was collected.
-- The current month is partial: compare complete months (fct_monthly_exchange_kpis.is_complete_month).
-- dbt compile --select revenue_by_tier_monthly

select
    month_start_date,
    tier_name,
    revenue_usd,
    revenue_share,
    revenue_share_target,
    -- Positive: the tier brings more than its target share.
    revenue_share - revenue_share_target as share_gap
from {{ ref('rpt_monthly_revenue_by_tier') }}
order by month_start_date desc, revenue_usd desc
