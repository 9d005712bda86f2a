"""Every SQL query the dashboard runs, in one place, free of Streamlit.

Each query is a :class:`Query`: plain SQL over the marts with DuckDB named parameters
(``$start_date``, ``$symbols``...), never a filter value formatted into the text. The pages
run them through :func:`run`; a benchmark can run them all with :func:`default_params` and
:func:`run` the same way (``for q in QUERIES.values(): run(con, q, params)``).

Connections are short-lived and read-only (:func:`connect`): DuckDB allows one writer per
file and no writer while another process holds the file open, so the dashboard opens the file
only for the few milliseconds a query takes, and a ``dbt build`` or a load can still run
between two page views. A query that meets a writer's lock raises :class:`WarehouseLocked`
with a message a person can act on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from warehouse import WarehouseLockedError, WarehouseMissingError, open_warehouse, settings

MARTS = "marts"


class WarehouseUnavailable(RuntimeError):
    """The warehouse cannot be read right now; the message says why and what to do."""


class WarehouseLocked(WarehouseUnavailable):
    """Another process (dbt, the loader, the churn scorer) holds the DuckDB file for writing."""


class WarehouseMissing(WarehouseUnavailable):
    """No warehouse file, or the marts are not built."""


def warehouse_path() -> Path:
    """The DuckDB file: $EXCHANGE_WAREHOUSE, as for the loaders and dbt."""
    return settings.current().warehouse


def warehouse_version(path: Path) -> tuple[float, float]:
    """Changes whenever the file (or its write-ahead log) is written: a cache key."""
    wal = path.with_name(path.name + ".wal")
    return (
        path.stat().st_mtime if path.exists() else 0.0,
        wal.stat().st_mtime if wal.exists() else 0.0,
    )


@contextmanager
def connect(path: Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection, closed on exit. Never creates the file."""
    path = path or warehouse_path()
    try:
        with open_warehouse(path, read_only=True) as con:
            yield con
    except WarehouseMissingError:
        raise WarehouseMissing(
            f"No warehouse at {path}. Build one with `make pipeline`, or point "
            "EXCHANGE_WAREHOUSE at an existing DuckDB file."
        ) from None
    except WarehouseLockedError as e:
        raise WarehouseLocked(
            f"The warehouse {path} is locked by another process that is writing to it "
            "(a dbt build, a load or the churn scorer). DuckDB lets no reader in while a "
            f"writer holds the file: reload this page when that run has finished. {e}"
        ) from e


@dataclass(frozen=True)
class Query:
    name: str
    page: str
    marts: tuple[str, ...]
    sql: str

    @property
    def params(self) -> tuple[str, ...]:
        """The named parameters the SQL uses."""
        return tuple(p for p in ALL_PARAMS if f"${p}" in self.sql)


# Every parameter any query takes. Lists are VARCHAR[]: an empty list means "all".
ALL_PARAMS = ("start_date", "end_date", "symbols", "severities", "rules", "statuses", "tiers")

_IN_LIST = "(len(cast(${p} as varchar[])) = 0 or list_contains(cast(${p} as varchar[]), {col}))"


def _in_list(param: str, column: str) -> str:
    return _IN_LIST.replace("{p}", param).replace("{col}", column)


_QUERIES = [
    # ---------------------------------------------------------------- filter bounds
    Query(
        "date_bounds",
        "filters",
        ("fct_daily_exchange_kpis", "dim_dates"),
        # The daily series start at the first registration; the default dates start at the
        # first trading day (dim_dates.has_trading_started), docs/dashboard.md#the-filters.
        f"""
        select min(kpi_date) as first_kpi_date, max(kpi_date) as last_kpi_date,
            (select min(date_day) from {MARTS}.dim_dates where has_trading_started)
                as first_trading_date
        from {MARTS}.fct_daily_exchange_kpis
        """,
    ),
    Query(
        "pairs",
        "filters",
        ("fct_pair_liquidity_daily",),
        f"select distinct symbol from {MARTS}.fct_pair_liquidity_daily order by symbol",
    ),
    # ---------------------------------------------------------------- executive KPIs
    Query(
        "executive_daily_kpis",
        "executive",
        ("fct_daily_exchange_kpis",),
        f"""
        select
            kpi_date,
            active_traders, active_traders_target,
            trade_count,
            trading_volume_usd, trading_volume_usd_target,
            revenue_usd, revenue_usd_target,
            trading_fee_revenue_usd, withdrawal_fee_revenue_usd,
            revenue_per_trade_usd, revenue_per_trade_usd_target,
            orders_placed, orders_executed, fill_rate, fill_rate_target,
            new_registrations, kyc_approvals, first_time_traders,
            churn_rate
        from {MARTS}.fct_daily_exchange_kpis
        where kpi_date between $start_date and $end_date
        order by kpi_date
        """,
    ),
    Query(
        "executive_period_totals",
        "executive",
        ("fct_daily_exchange_kpis",),
        f"""
        select
            count(*) as days,
            sum(revenue_usd) as revenue_usd,
            sum(revenue_usd_target) as revenue_usd_target,
            sum(trading_volume_usd) as trading_volume_usd,
            sum(trading_volume_usd_target) as trading_volume_usd_target,
            avg(active_traders) as avg_active_traders,
            avg(active_traders_target) as active_traders_target,
            -- the size-dependent targets scaled to the simulated exchange (is_scaled_target)
            bool_or(is_scaled_target) as is_scaled_target,
            avg(kpi_target_scale) as kpi_target_scale,
            sum(trade_count) as trade_count,
            -- ratios of sums, not averages of daily ratios
            sum(trading_fee_revenue_usd) / nullif(sum(trade_count), 0) as revenue_per_trade_usd,
            max(revenue_per_trade_usd_target) as revenue_per_trade_usd_target,
            sum(orders_executed) / nullif(sum(orders_placed), 0) as fill_rate,
            max(fill_rate_target) as fill_rate_target,
            sum(new_registrations) as new_registrations
        from {MARTS}.fct_daily_exchange_kpis
        where kpi_date between $start_date and $end_date
        """,
    ),
    # ---------------------------------------------------------------- revenue by tier
    Query(
        "revenue_by_tier",
        "revenue",
        ("rpt_monthly_revenue_by_tier",),
        f"""
        select month_start_date, tier_id, tier_name, revenue_usd, revenue_share,
            revenue_share_target
        from {MARTS}.rpt_monthly_revenue_by_tier
        where month_start_date between date_trunc('month', $start_date) and $end_date
        order by month_start_date, tier_id
        """,
    ),
    Query(
        "revenue_monthly",
        "revenue",
        ("fct_monthly_exchange_kpis",),
        f"""
        select month_start_date, is_complete_month, days_with_data, revenue_usd,
            trading_fee_revenue_usd, withdrawal_fee_revenue_usd, trading_volume_usd,
            trade_count, revenue_growth_pct, revenue_growth_pct_target,
            monthly_churn_rate, monthly_churn_rate_target
        from {MARTS}.fct_monthly_exchange_kpis
        where month_start_date between date_trunc('month', $start_date) and $end_date
        order by month_start_date
        """,
    ),
    Query(
        "tier_fee_rates",
        "revenue",
        ("rpt_monthly_tier_fee_rates",),
        f"""
        select month_start_date, tier_id, tier_name, taker_volume_usd, trading_fee_revenue_usd,
            effective_fee_rate, realised_taker_fee_rate, list_taker_fee_rate, revenue_share,
            revenue_share_target, revenue_share_gap
        from {MARTS}.rpt_monthly_tier_fee_rates
        where month_start_date between date_trunc('month', $start_date) and $end_date
        order by month_start_date, tier_id
        """,
    ),
    Query(
        "tier_boundary_summary",
        "revenue",
        ("rpt_users_near_tier_boundary",),
        f"""
        select tier_name, boundary_direction, target_tier_id, count(*) as users,
            sum(revenue_at_stake_30d_usd) as revenue_at_stake_30d_usd,
            sum(taker_fee_change_30d_usd) as taker_fee_change_30d_usd
        from {MARTS}.rpt_users_near_tier_boundary
        group by tier_name, boundary_direction, target_tier_id
        order by revenue_at_stake_30d_usd desc
        """,
    ),
    Query(
        "tier_boundary_users",
        "revenue",
        ("rpt_users_near_tier_boundary",),
        f"""
        select user_id, tier_name, boundary_direction, balance_usd, boundary_balance_usd,
            distance_to_boundary_usd, revenue_at_stake_30d_usd, taker_fee_change_30d_usd
        from {MARTS}.rpt_users_near_tier_boundary
        order by revenue_at_stake_30d_usd desc, user_id
        limit 100
        """,
    ),
    Query(
        "revenue_forecast",
        "revenue",
        ("fct_revenue_forecast",),
        f"""
        select forecast_kind, period_start_date, period_end_date, status, note,
            forecast_revenue_usd, interval_lower_usd, interval_upper_usd, interval_level,
            holdout_origins, mae_model_usd, mae_last_period_usd, mae_seasonal_naive_usd,
            mape_model, mape_last_period, mape_seasonal_naive, interval_coverage, as_of_date
        from {MARTS}.fct_revenue_forecast
        order by forecast_kind desc
        """,
    ),
    # ---------------------------------------------------------------- funnel and retention
    Query(
        "funnel_monthly",
        "funnel",
        ("fct_registration_funnel_monthly",),
        f"""
        select registration_month, registered, kyc_approved, first_traded,
            registration_to_kyc_pct, registration_to_kyc_pct_target,
            kyc_to_first_trade_pct, kyc_to_first_trade_pct_target,
            registration_to_first_trade_pct
        from {MARTS}.fct_registration_funnel_monthly
        where registration_month between date_trunc('month', $start_date) and $end_date
        order by registration_month
        """,
    ),
    Query(
        "retention_daily",
        "funnel",
        ("fct_retention_cohorts_daily",),
        f"""
        select cohort_date, cohort_size, retained_7d, retention_7d_rate,
            retention_7d_rate_target, retained_30d, retention_30d_rate,
            retention_30d_rate_target
        from {MARTS}.fct_retention_cohorts_daily
        where cohort_date between $start_date and $end_date
        order by cohort_date
        """,
    ),
    Query(
        "retention_weekly",
        "funnel",
        ("fct_retention_cohorts_weekly",),
        f"""
        select cohort_period_start_date, periods_since_first_trade, cohort_size,
            active_users, active_share, is_period_complete
        from {MARTS}.fct_retention_cohorts_weekly
        where cohort_period_start_date between date_trunc('week', $start_date) and $end_date
        order by cohort_period_start_date, periods_since_first_trade
        """,
    ),
    # ---------------------------------------------------------------- churn risk
    Query(
        "churn_tiers",
        "churn",
        ("fct_user_churn_risk",),
        f"select distinct tier_name from {MARTS}.fct_user_churn_risk order by tier_name",
    ),
    Query(
        "churn_risk_levels",
        "churn",
        ("fct_user_churn_risk",),
        f"""
        select as_of_date, churn_risk_level, tier_name, count(*) as users,
            sum(case when needs_attention then 1 else 0 end) as users_needing_attention
        from {MARTS}.fct_user_churn_risk
        where {_in_list("tiers", "tier_name")}
        group by as_of_date, churn_risk_level, tier_name
        order by churn_risk_level, tier_name
        """,
    ),
    Query(
        "churn_risk_users",
        "churn",
        ("fct_user_churn_risk",),
        f"""
        select user_id, tier_name, churn_risk_level, last_trade_date, days_since_last_trade,
            volume_30d_usd, volume_prior_30d_usd, volume_change_pct, support_tickets_30d,
            needs_attention
        from {MARTS}.fct_user_churn_risk
        where (churn_risk_level in ('high', 'medium') or needs_attention)
            and {_in_list("tiers", "tier_name")}
        order by case churn_risk_level when 'high' then 1 when 'medium' then 2 else 3 end,
            volume_prior_30d_usd desc nulls last, user_id
        limit 500
        """,
    ),
    Query(
        "churn_rate_daily",
        "churn",
        ("fct_daily_exchange_kpis",),
        f"""
        select kpi_date, churn_rate, churned_traders, traders_to_date
        from {MARTS}.fct_daily_exchange_kpis
        where kpi_date between $start_date and $end_date
        order by kpi_date
        """,
    ),
    Query(
        "churn_predictions_top",
        "churn",
        ("fct_churn_predictions",),
        f"""
        select p.churn_rank, p.user_id, p.churn_score, p.days_since_last_trade,
            r.tier_name, r.churn_risk_level, p.as_of_date, p.horizon_days, p.model_version
        from {MARTS}.fct_churn_predictions as p
        left join {MARTS}.fct_user_churn_risk as r on p.user_id = r.user_id
        where {_in_list("tiers", "r.tier_name")}
        order by p.churn_rank
        limit 200
        """,
    ),
    Query(
        "next_best_action_summary",
        "churn",
        ("fct_next_best_actions",),
        f"""
        select action, min(action_precedence) as action_precedence, count(*) as users,
            sum(expected_value_usd) as expected_value_usd
        from {MARTS}.fct_next_best_actions
        where {_in_list("tiers", "tier_name")}
        group by action
        order by action_precedence
        """,
    ),
    Query(
        "next_best_actions",
        "churn",
        ("fct_next_best_actions",),
        f"""
        select priority_rank, user_id, action, reason, expected_value_usd, churn_score,
            value_band, tier_name, lifecycle_stage
        from {MARTS}.fct_next_best_actions
        where {_in_list("tiers", "tier_name")}
        order by priority_rank
        limit 500
        """,
    ),
    Query(
        "campaign_results",
        "churn",
        ("fct_campaign_results",),
        f"""
        select campaign_name, action, targeted_date, retention_days, targeted_users,
            retained_users, success_rate, control_users, control_retention_rate, uplift,
            uplift_ci_lower, uplift_ci_upper, uplift_verdict
        from {MARTS}.fct_campaign_results
        order by targeted_date desc, campaign_id
        """,
    ),
    Query(
        "churn_model_evaluation",
        "churn",
        ("fct_churn_model_evaluation",),
        f"""
        select scorer, is_chosen, roc_auc, precision_top_decile, recall_top_decile,
            brier_score, validation_roc_auc, eval_users, eval_churn_rate, train_cutoff,
            eval_cutoff, horizon_days
        from {MARTS}.fct_churn_model_evaluation
        where decile = 1
        order by roc_auc desc nulls last, scorer
        """,
    ),
    Query(
        "churn_model_lift",
        "churn",
        ("fct_churn_model_evaluation",),
        f"""
        select scorer, decile, users, churned, churn_rate, lift, cumulative_recall, mean_score
        from {MARTS}.fct_churn_model_evaluation
        where is_chosen or scorer = 'recency_rule'
        order by scorer, decile
        """,
    ),
    # ---------------------------------------------------------------- compliance queue
    Query(
        "compliance_filter_values",
        "compliance",
        ("fct_compliance_alerts",),
        f"""
        select distinct 'severity' as field, severity as value, -severity_rank as sort_key
        from {MARTS}.fct_compliance_alerts
        union all
        select distinct 'rule', rule_name, 0 from {MARTS}.fct_compliance_alerts
        union all
        select distinct 'status', investigation_status, 0 from {MARTS}.fct_compliance_alerts
        order by field, sort_key, value
        """,
    ),
    Query(
        "compliance_alerts",
        "compliance",
        ("fct_compliance_alerts",),
        f"""
        select detected_at, severity, rule_name, investigation_status, amount_usd, user_id,
            alert_source, is_sar_candidate, disposition, assignee, reviewed_at, case_note,
            evidence_count, alert_details, alert_id, is_open
        from {MARTS}.fct_compliance_alerts
        where detected_date between $start_date and $end_date
            and {_in_list("severities", "severity")}
            and {_in_list("rules", "rule_name")}
            and {_in_list("statuses", "investigation_status")}
        order by severity_rank desc, detected_at desc, alert_id
        """,
    ),
    # The analysts' open queue: alerts not completed (a false positive, once closed with
    # `python -m compliance review`, leaves it; its decisions stay in the audit trail).
    Query(
        "compliance_open_queue",
        "compliance",
        ("fct_compliance_alerts",),
        f"""
        select detected_at, severity, rule_name, investigation_status, assignee, amount_usd,
            user_id, alert_source, is_sar_candidate, reviewed_at, case_note, evidence_count,
            alert_details, alert_id
        from {MARTS}.fct_compliance_alerts
        where is_open
            and detected_date between $start_date and $end_date
            and {_in_list("severities", "severity")}
            and {_in_list("rules", "rule_name")}
            and {_in_list("statuses", "investigation_status")}
        order by severity_rank desc, detected_at desc, alert_id
        """,
    ),
    Query(
        "compliance_alerts_daily",
        "compliance",
        ("fct_compliance_alert_daily",),
        f"""
        select alert_date, severity, sum(alert_count) as alert_count
        from {MARTS}.fct_compliance_alert_daily
        where alert_date between $start_date and $end_date
            and {_in_list("severities", "severity")}
            and {_in_list("rules", "rule_name")}
        group by alert_date, severity
        order by alert_date, severity
        """,
    ),
    # ---------------------------------------------------------------- market liquidity
    Query(
        "liquidity_by_pair",
        "liquidity",
        ("fct_pair_liquidity_daily",),
        f"""
        select
            symbol,
            avg(avg_spread_bps) as avg_spread_bps,
            avg(p95_spread_bps) as avg_p95_spread_bps,
            avg(avg_total_depth_1_percent) as avg_total_depth_1_percent,
            avg(avg_total_depth_1_percent_usd) as avg_total_depth_1_percent_usd,
            sum(trading_volume_usd) as trading_volume_usd,
            sum(trade_count) as trade_count,
            sum(crossed_snapshot_count) as crossed_snapshot_count,
            avg(realized_volatility) as avg_realized_volatility
        from {MARTS}.fct_pair_liquidity_daily
        where date_day between $start_date and $end_date
            and {_in_list("symbols", "symbol")}
        group by symbol
        order by trading_volume_usd desc, symbol
        """,
    ),
    Query(
        "liquidity_daily",
        "liquidity",
        ("fct_pair_liquidity_daily",),
        f"""
        select date_day, symbol, avg_spread_bps, p95_spread_bps, avg_total_depth_1_percent,
            avg_total_depth_1_percent_usd, trading_volume_usd, volume_share
        from {MARTS}.fct_pair_liquidity_daily
        where date_day between $start_date and $end_date
            and {_in_list("symbols", "symbol")}
        order by date_day, symbol
        """,
    ),
    Query(
        "candles_daily",
        "liquidity",
        ("fct_pair_candles_daily",),
        f"""
        select candle_date, symbol, open_price, high_price, low_price, close_price,
            volume_usd, trade_count
        from {MARTS}.fct_pair_candles_daily
        where candle_date between $start_date and $end_date
            and {_in_list("symbols", "symbol")}
        order by candle_date, symbol
        """,
    ),
    Query(
        "price_deviations_daily",
        "liquidity",
        ("rpt_pair_competitive_positioning_daily",),
        f"""
        select date_day, symbol, avg_deviation_bps, avg_abs_deviation_bps,
            max_abs_deviation_bps, compared_hour_count, deviation_alert_count
        from {MARTS}.rpt_pair_competitive_positioning_daily
        where date_day between $start_date and $end_date
            and {_in_list("symbols", "symbol")}
        order by date_day, symbol
        """,
    ),
]

QUERIES: dict[str, Query] = {q.name: q for q in _QUERIES}
assert len(QUERIES) == len(_QUERIES), "query names must be unique"


def bind(query: Query, params: dict) -> dict:
    """The parameters the query takes, checked: a missing one is an error, extras are dropped."""
    missing = [p for p in query.params if p not in params]
    if missing:
        raise ValueError(f"query {query.name} needs parameter(s) {', '.join(missing)}")
    bound = {p: params[p] for p in query.params}
    for p in ("symbols", "severities", "rules", "statuses", "tiers"):
        if p in bound:
            bound[p] = [str(v) for v in (bound[p] or [])]
    return bound


def table_exists(con: duckdb.DuckDBPyConnection, table: str, schema: str = MARTS) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = $schema and table_name = $table",
        {"schema": schema, "table": table},
    ).fetchone()
    return bool(row and row[0])


def run(con: duckdb.DuckDBPyConnection, query: Query | str, params: dict | None = None):
    """The query's result as a pandas DataFrame."""
    query = QUERIES[query] if isinstance(query, str) else query
    try:
        return con.execute(query.sql, bind(query, params or {})).df()
    except duckdb.CatalogException as e:
        raise WarehouseMissing(
            f"{query.name} reads {', '.join(f'{MARTS}.{m}' for m in query.marts)}, which is "
            "not built in this warehouse: run `make build` (and `make score` for the churn "
            "predictions, `make forecast` for the revenue forecast). "
            f"DuckDB said: {str(e).splitlines()[0]}"
        ) from e


def default_params(con: duckdb.DuckDBPyConnection) -> dict:
    """The whole data window, every pair, every severity, rule and status."""
    bounds = run(con, "date_bounds").iloc[0]
    if pd.isna(bounds["last_kpi_date"]):
        raise WarehouseMissing(f"{MARTS}.fct_daily_exchange_kpis has no rows yet.")
    return {
        "start_date": _as_date(bounds["first_kpi_date"]),
        "end_date": _as_date(bounds["last_kpi_date"]),
        "symbols": [],
        "tiers": [],
        "severities": [],
        "rules": [],
        "statuses": [],
    }


def _as_date(value) -> dt.date:
    return pd.Timestamp(value).date()
