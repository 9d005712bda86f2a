-- The monthly large-transaction report: one row per completed deposit or withdrawal of at
-- least var('large_transaction_min_usd') in USD at its own time, with the calendar month it
-- is reported in, the user's profile at reporting time and the alert it raised. Filter on
-- report_month for one month's report (analyses/large_transactions_report.sql).

with

transfers as (

    select * from {{ ref('int_transfers_completed') }}
    where amount_usd >= {{ var('large_transaction_min_usd') }}

),

users as (

    select * from {{ ref('dim_users') }}

),

alerts as (

    select
        alert_id,
        hit_key,
        investigation_status,
        disposition
    from {{ ref('fct_compliance_alerts') }}
    where alert_source = 'rule'
        and rule_name = 'large_transaction'

),

final as (

    select
        transfers.transaction_id,
        cast({{ dbt.date_trunc('month', 'transfers.created_at') }} as date) as report_month,
        transfers.user_id,
        users.country_code,
        users.kyc_level,
        users.kyc_status,
        users.tier_name,
        transfers.transaction_type,
        transfers.asset,
        abs(transfers.amount) as asset_amount,
        transfers.amount_usd,
        transfers.created_at,
        transfers.created_date,
        alerts.alert_id,
        alerts.investigation_status,
        alerts.disposition
    from transfers
    left join users
        on transfers.user_id = users.user_id
    left join alerts
        on transfers.transaction_id = alerts.hit_key

)

select * from final
