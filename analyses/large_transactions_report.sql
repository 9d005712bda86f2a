-- The large-transaction report of one calendar month, for a regulator's filing.
-- dbt compile --select large_transactions_report --vars '{report_month: "2026-10-01"}'

select
    report_month,
    transaction_id,
    created_at,
    transaction_type,
    asset,
    asset_amount,
    amount_usd,
    user_id,
    country_code,
    kyc_level,
    kyc_status,
    alert_id,
    investigation_status,
    disposition
from {{ ref('rpt_large_transactions_monthly') }}
where report_month = cast('{{ var("report_month", "2026-10-01") }}' as date)
order by created_at, transaction_id
