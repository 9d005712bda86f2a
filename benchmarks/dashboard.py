"""The queries a dashboard runs on the marts (docs/reliability.md#scale-and-speed: well under a
second at large).

One per dashboard page: what a BI tool sends when a page opens or a filter changes. Date
filters are relative to the last day of data so they select the same share at every scale.
"""

from __future__ import annotations

LAST_DAY = "(select max(kpi_date) from marts.fct_daily_exchange_kpis)"

DASHBOARD_QUERIES: dict[str, str] = {
    "daily_kpis_vs_targets": f"""
        select kpi_date, active_traders, active_traders_target, trading_volume_usd,
               trading_volume_usd_target, revenue_usd, revenue_usd_target,
               revenue_per_trade_usd, fill_rate, fill_rate_target, churn_rate
        from marts.fct_daily_exchange_kpis
        where kpi_date > {LAST_DAY} - 30
        order by kpi_date desc""",
    "revenue_by_tier_by_month": """
        select month_start_date, tier_name, revenue_usd, revenue_share, revenue_share_target
        from marts.rpt_monthly_revenue_by_tier
        order by month_start_date, tier_id""",
    "registration_funnel": """
        select registration_month, registered, kyc_approved, first_traded,
               registration_to_kyc_pct, kyc_to_first_trade_pct, registration_to_first_trade_pct
        from marts.fct_registration_funnel_monthly
        order by registration_month""",
    "retention_cohorts": """
        select cohort_period_start_date, periods_since_first_trade, cohort_size, active_share
        from marts.fct_retention_cohorts_monthly
        order by cohort_period_start_date, periods_since_first_trade""",
    "churn_risk_top_users": """
        select user_id, tier_name, churn_risk_level, days_since_last_trade, volume_30d_usd,
               volume_prior_30d_usd, volume_change_pct, support_tickets_30d
        from marts.fct_user_churn_risk
        where churn_risk_level = 'high'
        order by volume_prior_30d_usd desc nulls last
        limit 100""",
    "compliance_alert_queue": """
        select alert_id, rule_name, severity, user_id, amount_usd, detected_at,
               investigation_status, is_sar_candidate
        from marts.fct_compliance_alerts
        where investigation_status is distinct from 'closed'
        order by severity_rank desc, detected_at desc
        limit 200""",
    "compliance_alerts_by_rule_and_week": """
        select rule_name, date_trunc('week', detected_date) as week, count(*) as alerts,
               sum(amount_usd) as amount_usd
        from marts.fct_compliance_alerts
        group by all
        order by week, rule_name""",
    "pair_liquidity_by_date_and_pair": f"""
        select l.date_day, l.symbol, l.avg_spread_bps, l.p95_spread_bps,
               l.avg_total_depth_1_percent, l.trading_volume_usd, l.realized_volatility
        from marts.fct_pair_liquidity_daily as l
        inner join marts.dim_trading_pairs as p on l.pair_id = p.pair_id
        where l.date_day between {LAST_DAY} - 13 and {LAST_DAY}
            and p.symbol in ('BTCUSDT', 'ETHUSDT', 'SOLUSDT')
        order by l.date_day, l.symbol""",
}
