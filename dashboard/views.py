"""One function per dashboard page. Every number comes from dashboard/queries.py."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import charts, queries, state


@dataclass
class Filters:
    """What the sidebar (and the page's own widgets) selected; the query parameters."""

    start_date: dt.date
    end_date: dt.date
    symbols: list[str] = field(default_factory=list)
    severities: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    tiers: list[str] = field(default_factory=list)
    dates_note: str = ""  # said under each page's title, e.g. why the dates start where they do

    def params(self) -> dict:
        return {
            "start_date": self.start_date,
            "end_date": self.end_date,
            "symbols": list(self.symbols),
            "severities": list(self.severities),
            "rules": list(self.rules),
            "statuses": list(self.statuses),
            "tiers": list(self.tiers),
        }


SEVERITY_COLOURS = {"critical": "#7f0000", "high": "#d62728", "medium": "#ff9f1c", "low": "#9ecae1"}

# ------------------------------------------------------------------ data access


@st.cache_data(ttl=300, show_spinner=False, max_entries=256)
def _cached(query_name: str, params: dict, path: str, version: tuple) -> pd.DataFrame:
    # `version` (the file's mtime) is only a cache key: a rebuilt warehouse is read afresh.
    with queries.connect(Path(path)) as con:
        return queries.run(con, query_name, params)


def load(query_name: str, params: dict | None = None) -> pd.DataFrame:
    """The query's result, cached per parameters and warehouse version; one short read-only
    connection per cache miss."""
    path = queries.warehouse_path()
    bound = queries.bind(queries.QUERIES[query_name], params or {})  # the cache key
    return _cached(query_name, bound, str(path), queries.warehouse_version(path))


@st.cache_data(ttl=300, show_spinner=False)
def _has_table(table: str, path: str, version: tuple) -> bool:
    with queries.connect(Path(path)) as con:
        return queries.table_exists(con, table)


def has_table(table: str) -> bool:
    path = queries.warehouse_path()
    return _has_table(table, str(path), queries.warehouse_version(path))


def multiselect(where, label: str, options: list, key: str, placeholder: str) -> list:
    """A multiselect read from and written to the URL; a value the data do not have (a typo in
    a shared link) is named on the page, not dropped silently (dashboard/state.py)."""
    return state.multiselect(where, label, options, key, placeholder)


# ------------------------------------------------------------------ formatting


def usd(value, decimals: int = 0) -> str:
    return "–" if value is None or pd.isna(value) else f"${value:,.{decimals}f}"


def count(value) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:,.0f}"


def pct(rate, decimals: int = 1) -> str:
    """A rate (0.25) as a percentage (25.0%)."""
    return "–" if rate is None or pd.isna(rate) else f"{rate * 100:.{decimals}f}%"


def vs_target(value, target, higher_is_better: bool = True) -> str | None:
    """The metric's delta: how far the value is from its target, in % of the target."""
    if value is None or target is None or pd.isna(value) or pd.isna(target) or target == 0:
        return None
    gap = (value / target - 1) * 100
    if not higher_is_better:
        gap = -gap
    return f"{gap:+.1f}% vs target"


def period_caption(filters: Filters, note: str = "") -> None:
    st.caption(
        f"{filters.start_date:%Y-%m-%d} to {filters.end_date:%Y-%m-%d} (UTC days"
        f"{', ' + filters.dates_note if filters.dates_note else ''}). {note}"
    )


def nothing_in_range(frame: pd.DataFrame, what: str) -> bool:
    if frame.empty:
        st.info(f"No {what} in the selected dates: widen the date range in the sidebar.")
        return True
    return False


def table(frame: pd.DataFrame, column_config: dict | None = None, **kwargs) -> None:
    """st.dataframe with dates shown as dates (DuckDB DATE arrives as midnight timestamps)."""
    config = {}
    for name in frame.columns:
        column = frame[name]
        if (
            pd.api.types.is_datetime64_any_dtype(column)
            and (column.dropna() == column.dropna().dt.normalize()).all()
        ):
            config[name] = st.column_config.DateColumn(name, format="YYYY-MM-DD")
    config.update(column_config or {})
    st.dataframe(frame, hide_index=True, column_config=config, **kwargs)


def month_label(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """A YYYY-MM text column `month` for charts with one bar group per month."""
    return frame.assign(month=pd.to_datetime(frame[column]).dt.strftime("%Y-%m"))


# ------------------------------------------------------------------ executive KPIs


def executive(filters: Filters) -> None:
    st.title("Executive KPIs")
    period_caption(
        filters,
        "Totals and averages over the selected days, beside the targets "
        "(the kpi_targets seed); marts.fct_daily_exchange_kpis.",
    )
    totals = load("executive_period_totals", filters.params()).iloc[0]
    daily = load("executive_daily_kpis", filters.params())
    if nothing_in_range(daily, "days of data"):
        return
    c = st.columns(3)
    c[0].metric(
        "Revenue",
        usd(totals.revenue_usd),
        vs_target(totals.revenue_usd, totals.revenue_usd_target),
        help=f"Target for these days: {usd(totals.revenue_usd_target)}",
    )
    c[1].metric(
        "Trading volume",
        usd(totals.trading_volume_usd),
        vs_target(totals.trading_volume_usd, totals.trading_volume_usd_target),
        help=f"Target for these days: {usd(totals.trading_volume_usd_target)}",
    )
    c[2].metric(
        "Average DAU",
        count(totals.avg_active_traders),
        vs_target(totals.avg_active_traders, totals.active_traders_target),
        help=f"Target: {count(totals.active_traders_target)} active traders a day",
    )
    c = st.columns(3)
    c[0].metric(
        "Revenue per trade",
        usd(totals.revenue_per_trade_usd, 2),
        vs_target(totals.revenue_per_trade_usd, totals.revenue_per_trade_usd_target),
        help=f"Trading fees / fills. Target: {usd(totals.revenue_per_trade_usd_target, 2)}",
    )
    c[1].metric(
        "Fill rate",
        pct(totals.fill_rate),
        vs_target(totals.fill_rate, totals.fill_rate_target),
        help=f"Orders executed / placed. Target: {pct(totals.fill_rate_target)}",
    )
    c[2].metric("New registrations", count(totals.new_registrations))
    if totals.is_scaled_target:
        st.caption(
            "Scaled targets: the DAU, volume and revenue targets are the design document's "
            f"times {totals.kpi_target_scale:.4f} on average (registered users / the design's "
            "user base, var kpi_target_design_users); revenue per trade and fill rate targets "
            "are the design's own."
        )

    latest = daily.iloc[-1]
    st.subheader(f"Latest day: {latest.kpi_date:%Y-%m-%d}")
    c = st.columns(4)
    c[0].metric(
        "DAU",
        count(latest.active_traders),
        vs_target(latest.active_traders, latest.active_traders_target),
    )
    c[1].metric(
        "Revenue (day)",
        usd(latest.revenue_usd),
        vs_target(latest.revenue_usd, latest.revenue_usd_target),
    )
    c[2].metric("Fills", count(latest.trade_count))
    c[3].metric("Churn rate", pct(latest.churn_rate))

    left, right = st.columns(2)
    with left:
        st.markdown("**Revenue by day and fee type**")
        fees = daily.assign(
            Trading=daily.trading_fee_revenue_usd,
            Withdrawal=daily.withdrawal_fee_revenue_usd,
            # revenue_usd counts every fee type; whatever is neither of the two above
            Other=(
                daily.revenue_usd - daily.trading_fee_revenue_usd - daily.withdrawal_fee_revenue_usd
            ).clip(lower=0),
        )
        kinds = ["Trading", "Withdrawal"] + (["Other"] if fees.Other.gt(0.005).any() else [])
        st.altair_chart(
            charts.stacked_daily(
                fees.melt("kpi_date", kinds, "fee_type", "usd"),
                "kpi_date",
                "usd",
                "fee_type",
                "Revenue (USD)",
                "Fee type",
            ),
        )
    with right:
        st.markdown("**Daily active traders**")
        st.altair_chart(
            charts.daily(daily, "kpi_date", "active_traders", "Active traders", height=260)
        )
    left, right = st.columns(2)
    with left:
        st.markdown("**Trading volume by day**")
        st.altair_chart(
            charts.daily(
                daily,
                "kpi_date",
                "trading_volume_usd",
                "Trading volume (USD)",
                fmt=charts.USD,
                axis_fmt=charts.USD_AXIS,
                mark="area",
            )
        )
    with right:
        st.markdown("**Fill rate by day against its target**")
        st.altair_chart(
            charts.rate_against_target(
                daily,
                "kpi_date",
                {"Fill rate": ("fill_rate", "fill_rate_target")},
                "Fill rate (%)",
            )
        )
    with st.expander("Daily KPIs beside their targets"):
        table(daily)


# ------------------------------------------------------------------ revenue by tier


def revenue(filters: Filters) -> None:
    st.title("Revenue by tier")
    period_caption(
        filters,
        "Calendar months overlapping the selected days; revenue by the "
        "user's tier when the fee was collected. marts.rpt_monthly_revenue_by_tier, "
        "marts.fct_monthly_exchange_kpis.",
    )
    tiers = load("revenue_by_tier", filters.params())
    months = load("revenue_monthly", filters.params())
    if nothing_in_range(tiers, "months with revenue"):
        return
    latest_month = tiers.month_start_date.max()
    latest = tiers[tiers.month_start_date == latest_month]
    st.metric("Revenue, months in range", usd(tiers.revenue_usd.sum()))
    st.subheader(f"Tier shares in {pd.Timestamp(latest_month):%B %Y}")
    cols = st.columns(max(len(latest), 1))
    for col, row in zip(cols, latest.itertuples(), strict=True):
        col.metric(
            f"{row.tier_name} revenue",
            usd(row.revenue_usd),
            f"share {pct(row.revenue_share)}, target {pct(row.revenue_share_target, 0)}",
            delta_color="off",
        )
    left, right = st.columns(2)
    with left:
        st.markdown("**Revenue by month and tier**")
        st.altair_chart(
            alt.Chart(month_label(tiers, "month_start_date"), height=280)
            .mark_bar()
            .encode(
                x=alt.X("month:O", title="Month", axis=alt.Axis(labelAngle=0)),
                y=alt.Y(
                    "revenue_usd:Q", title="Revenue (USD)", axis=alt.Axis(format=charts.USD_AXIS)
                ),
                color=alt.Color("tier_name:N", title="Tier", legend=alt.Legend(orient="bottom")),
                tooltip=[
                    alt.Tooltip("month:O", title="Month"),
                    alt.Tooltip("tier_name:N", title="Tier"),
                    alt.Tooltip("revenue_usd:Q", title="Revenue (USD)", format=charts.USD),
                ],
            ),
        )
    with right:
        st.markdown("**Share of revenue against target (target: black tick)**")
        bars = (
            alt.Chart(latest, height=280)
            .mark_bar(size=40)
            .encode(
                x=alt.X("tier_name:N", title="Tier", axis=alt.Axis(labelAngle=0)),
                y=alt.Y(
                    "revenue_share:Q",
                    title="Share of the month's revenue (%)",
                    axis=alt.Axis(format="%"),
                ),
                tooltip=[
                    alt.Tooltip("tier_name:N", title="Tier"),
                    alt.Tooltip("revenue_share:Q", title="Share", format=charts.PCT),
                    alt.Tooltip("revenue_share_target:Q", title="Target", format=charts.PCT),
                ],
            )
        )
        ticks = (
            alt.Chart(latest)
            .mark_tick(color=charts.TARGET_COLOUR, thickness=3, size=60)
            .encode(x="tier_name:N", y="revenue_share_target:Q")
        )
        st.altair_chart(bars + ticks)
    st.subheader("Months")
    table(
        months,
        column_config={
            "revenue_growth_pct": st.column_config.NumberColumn("revenue growth %", format="%.1f"),
            "monthly_churn_rate": st.column_config.NumberColumn(format="percent"),
            "monthly_churn_rate_target": st.column_config.NumberColumn(format="percent"),
        },
    )
    st.caption(
        "Growth is NULL for the first month of data; an incomplete month "
        "(is_complete_month = false) is not comparable with a whole one."
    )
    revenue_insights(filters)


def revenue_insights(filters: Filters) -> None:
    """Effective fee rate, users near a tier boundary, and the revenue forecast (issue 20)."""
    st.subheader("Effective fee rate by tier")
    st.caption(
        "Trading fees (maker and taker) / taker volume, by the tier at each fill; the realised "
        "taker rate should equal the list rate. marts.rpt_monthly_tier_fee_rates."
    )
    rates = load("tier_fee_rates", filters.params())
    percent = st.column_config.NumberColumn(format="percent")
    bps = st.column_config.NumberColumn(format="%.4f")
    table(
        rates,
        column_config={
            "taker_volume_usd": st.column_config.NumberColumn(format="dollar"),
            "trading_fee_revenue_usd": st.column_config.NumberColumn(format="dollar"),
            "effective_fee_rate": bps,
            "realised_taker_fee_rate": bps,
            "list_taker_fee_rate": bps,
            "revenue_share": percent,
            "revenue_share_target": percent,
            "revenue_share_gap": percent,
        },
    )
    st.subheader("Users near a tier boundary")
    st.caption(
        "Balance within 20% of the next tier's minimum (upgrade) or of their own tier's "
        "(downgrade), as of the last day of data; revenue at stake = their fees in the last "
        "30 days. marts.rpt_users_near_tier_boundary."
    )
    summary = load("tier_boundary_summary")
    dollars = {
        c: st.column_config.NumberColumn(format="dollar")
        for c in [
            "revenue_at_stake_30d_usd",
            "taker_fee_change_30d_usd",
            "balance_usd",
            "boundary_balance_usd",
            "distance_to_boundary_usd",
        ]
    }
    if summary.empty:
        st.info("No user is near a tier boundary.")
    else:
        st.metric(
            "Revenue at stake (30 days)",
            usd(summary.revenue_at_stake_30d_usd.sum()),
            f"{count(summary.users.sum())} users",
            delta_color="off",
        )
        table(summary, column_config=dollars)
        with st.expander("Users, most revenue at stake first"):
            table(load("tier_boundary_users"), column_config=dollars)
    st.subheader("Revenue forecast")
    if not has_table("fct_revenue_forecast"):
        st.info(
            "marts.fct_revenue_forecast is not in this warehouse: run `make forecast` "
            "(the revenue forecast) to add it."
        )
        return
    forecast = load("revenue_forecast")
    st.caption(
        "ETS (statsmodels) with an 80% prediction interval; error over held-out periods "
        "(rolling origin) beside the naive baselines. marts.fct_revenue_forecast."
    )
    cols = st.columns(max(len(forecast), 1))
    for col, row in zip(cols, forecast.itertuples(), strict=True):
        start, end = pd.Timestamp(row.period_start_date), pd.Timestamp(row.period_end_date)
        label = f"{row.forecast_kind.replace('_', ' ')} ({start:%Y-%m-%d} to {end:%Y-%m-%d})"
        if row.status != "forecast":
            col.metric(label, "n/a", row.note, delta_color="off")
            continue
        col.metric(
            label,
            usd(row.forecast_revenue_usd),
            f"80% interval {usd(row.interval_lower_usd)} to {usd(row.interval_upper_usd)}",
            delta_color="off",
            help=row.note,
        )
    table(
        forecast,
        column_config={
            c: st.column_config.NumberColumn(format="percent")
            for c in ["mape_model", "mape_last_period", "mape_seasonal_naive", "interval_coverage"]
        },
    )


# ------------------------------------------------------------------ funnel and retention


def funnel(filters: Filters) -> None:
    st.title("Funnel and retention")
    period_caption(
        filters,
        "Registration months overlapping the selected days; first-trade cohorts within them. "
        "marts.fct_registration_funnel_monthly, fct_retention_cohorts_daily, "
        "fct_retention_cohorts_weekly.",
    )
    every_month = st.toggle(
        "Every registration month",
        key="every_month",
        help="Users registered before the first day of trading data too.",
    )
    funnel_params = filters.params()
    if every_month:
        funnel_params["start_date"] = dt.date(1970, 1, 1)
    funnel_rows = load("funnel_monthly", funnel_params)
    retention = load("retention_daily", filters.params())
    weekly = load("retention_weekly", filters.params())
    if not funnel_rows.empty:
        registered = funnel_rows.registered.sum()
        kyc = funnel_rows.kyc_approved.sum()
        traded = funnel_rows.first_traded.sum()
        c = st.columns(5)
        c[0].metric("Registered", count(registered))
        c[1].metric("KYC approved", count(kyc))
        c[2].metric("First traded", count(traded))
        c[3].metric(
            "Registration → KYC",
            pct(kyc / registered if registered else None),
            vs_target(
                kyc / registered * 100 if registered else None,
                funnel_rows.registration_to_kyc_pct_target.max(),
            ),
        )
        c[4].metric(
            "KYC → first trade",
            pct(traded / kyc if kyc else None),
            vs_target(
                traded / kyc * 100 if kyc else None, funnel_rows.kyc_to_first_trade_pct_target.max()
            ),
        )
        st.markdown("**Users at each funnel step, by registration month**")
        order = ["registered", "kyc_approved", "first_traded"]
        steps = month_label(funnel_rows, "registration_month").melt("month", order, "step", "users")
        st.altair_chart(
            alt.Chart(steps, height=260)
            .mark_bar()
            .encode(
                x=alt.X("month:O", title="Registration month", axis=alt.Axis(labelAngle=0)),
                xOffset=alt.XOffset("step:N", sort=order),
                y=alt.Y("users:Q", title="Users", axis=alt.Axis(format=charts.COUNT)),
                color=alt.Color(
                    "step:N",
                    sort=order,
                    title="Funnel step",
                    scale=alt.Scale(domain=order),
                    legend=alt.Legend(
                        orient="bottom",
                        labelExpr="{'registered': 'Registered', 'kyc_approved': 'KYC approved',"
                        " 'first_traded': 'First traded'}[datum.label]",
                    ),
                ),
                tooltip=[
                    alt.Tooltip("month:O", title="Month"),
                    alt.Tooltip("step:N", title="Step"),
                    alt.Tooltip("users:Q", title="Users", format=charts.COUNT),
                ],
            ),
        )
    else:
        st.info("No registration month in the selected dates.")

    st.subheader("Retention by first-trade cohort")
    if nothing_in_range(retention, "first-trade cohorts"):
        return
    done_7d = retention[retention.retention_7d_rate.notna()]
    done_30d = retention[retention.retention_30d_rate.notna()]
    rate_7d = (
        done_7d.retained_7d.sum() / done_7d.cohort_size.sum() if done_7d.cohort_size.sum() else None
    )
    rate_30d = (
        done_30d.retained_30d.sum() / done_30d.cohort_size.sum()
        if done_30d.cohort_size.sum()
        else None
    )
    c = st.columns(3)
    c[0].metric("First-time traders", count(retention.cohort_size.sum()))
    c[1].metric(
        "7-day retention",
        pct(rate_7d),
        vs_target(rate_7d, retention.retention_7d_rate_target.max()),
        help="Cohorts whose 7-day window has ended, weighted by size.",
    )
    c[2].metric(
        "30-day retention",
        pct(rate_30d),
        vs_target(rate_30d, retention.retention_30d_rate_target.max()),
        help="Cohorts whose 30-day window has ended; '–' while none has.",
    )
    st.markdown("**Retention by first-trade cohort against the targets**")
    st.altair_chart(
        charts.rate_against_target(
            retention,
            "cohort_date",
            {
                "7-day retention": ("retention_7d_rate", "retention_7d_rate_target"),
                "30-day retention": ("retention_30d_rate", "retention_30d_rate_target"),
            },
            "Retention (%)",
            x_title="First-trade day (UTC)",
        )
    )
    if not weekly.empty:
        st.markdown("**Weekly cohorts: share of the cohort trading in each later week**")
        cohorts = weekly.pivot_table(
            index=["cohort_period_start_date", "cohort_size"],
            columns="periods_since_first_trade",
            values="active_share",
        )
        cohorts.columns = [f"week {int(c)}" for c in cohorts.columns]
        table(
            cohorts.reset_index(),
            column_config={
                "cohort_period_start_date": st.column_config.DateColumn("cohort week"),
                **{
                    c: st.column_config.ProgressColumn(
                        c, min_value=0.0, max_value=1.0, format="percent"
                    )
                    for c in cohorts.columns
                },
            },
        )


# ------------------------------------------------------------------ churn risk


def churn(filters: Filters) -> None:
    st.title("Churn risk")
    st.caption(
        "Risk levels as of the last day of data (marts.fct_user_churn_risk): high = 30-day "
        "volume down more than 50%, medium = no fill for more than 7 days. The churn rate "
        "follows the date filter; the tier filter applies to everything else."
    )
    tiers = load("churn_tiers").tier_name.dropna().tolist()
    filters.tiers = multiselect(st.columns(3)[0], "Tier", tiers, "tiers", "All tiers")
    levels = load("churn_risk_levels", filters.params())
    if nothing_in_range(levels, "traders"):
        return
    by_level = levels.groupby("churn_risk_level").users.sum()
    c = st.columns(4)
    c[0].metric("High risk users", count(by_level.get("high", 0)))
    c[1].metric("Medium risk users", count(by_level.get("medium", 0)))
    c[2].metric("Low risk users", count(by_level.get("low", 0)))
    c[3].metric(
        "Need attention",
        count(levels.users_needing_attention.sum()),
        help="More than 2 support tickets in the last 30 days.",
    )
    rate = load("churn_rate_daily", filters.params())
    left, right = st.columns(2)
    with left:
        st.markdown(f"**Users by risk level and tier, {levels.as_of_date.max():%Y-%m-%d}**")
        st.altair_chart(
            alt.Chart(levels, height=260)
            .mark_bar()
            .encode(
                x=alt.X("tier_name:N", title="Tier", axis=alt.Axis(labelAngle=0)),
                y=alt.Y("sum(users):Q", title="Users", axis=alt.Axis(format=charts.COUNT)),
                color=alt.Color(
                    "churn_risk_level:N",
                    title="Churn risk",
                    scale=alt.Scale(
                        domain=["high", "medium", "low"],
                        range=[SEVERITY_COLOURS[s] for s in ("high", "medium", "low")],
                    ),
                ),
                tooltip=["tier_name:N", "churn_risk_level:N", "sum(users):Q"],
            ),
        )
    with right:
        st.markdown("**Daily churn rate (churned / traders to date)**")
        if not rate.empty:
            st.altair_chart(
                charts.rate_against_target(
                    rate,
                    "kpi_date",
                    {"Churn rate": ("churn_rate", None)},
                    "Churn rate (%)",
                    height=260,
                )
            )
    st.subheader("At-risk users")
    table(
        load("churn_risk_users", filters.params()),
        column_config={
            "volume_30d_usd": st.column_config.NumberColumn(format="dollar"),
            "volume_prior_30d_usd": st.column_config.NumberColumn(format="dollar"),
            "volume_change_pct": st.column_config.NumberColumn(format="%.0f%%"),
        },
    )
    st.subheader("Next-best actions")
    st.caption(
        "One action per user who needs one (marts.fct_next_best_actions), in the precedence "
        "win-back offer → attention → tier-upgrade nudge → KYC completion → first trade; "
        "expected value = churn score × 30-day fees at stake; rank 1 acts first."
    )
    summary = load("next_best_action_summary", filters.params())
    if not summary.empty:
        c = st.columns(len(summary))
        for column, row in zip(c, summary.itertuples(), strict=True):
            column.metric(
                row.action.replace("_", " ").capitalize(),
                count(row.users),
                help=f"Expected value of acting: {usd(row.expected_value_usd)}",
            )
    table(
        load("next_best_actions", filters.params()),
        column_config={
            "expected_value_usd": st.column_config.NumberColumn(format="dollar"),
            "churn_score": st.column_config.NumberColumn(format="%.2f"),
        },
    )
    st.subheader("Campaigns: success rate and uplift")
    st.caption(
        "Campaign success = retained / targeted (a fill within the window's days of the "
        "campaign day); uplift = success rate minus the random control group's retention, "
        "with a 95% Newcombe interval (marts.fct_campaign_results)."
    )
    table(
        load("campaign_results"),
        column_config={
            c: st.column_config.NumberColumn(format="percent")
            for c in (
                "success_rate",
                "control_retention_rate",
                "uplift",
                "uplift_ci_lower",
                "uplift_ci_upper",
            )
        },
    )
    st.subheader("Churn model: highest scores")
    if not has_table("fct_churn_predictions"):
        st.info(
            "marts.fct_churn_predictions is not in this warehouse: run `make score` "
            "(the churn model) to add the scores."
        )
        return
    churn_model_backtest()
    predictions = load("churn_predictions_top", filters.params())
    if not predictions.empty:
        first = predictions.iloc[0]
        st.caption(
            f"Model {first.model_version}: probability of no fill in the "
            f"{first.horizon_days} days after {pd.Timestamp(first.as_of_date):%Y-%m-%d}."
        )
    table(
        predictions,
        column_config={
            "churn_score": st.column_config.ProgressColumn(
                min_value=0.0, max_value=1.0, format="%.2f"
            )
        },
    )


def churn_model_backtest() -> None:
    """The churn model against the recency rule and the majority baseline (issue 20)."""
    if not has_table("fct_churn_model_evaluation"):
        return
    summary = load("churn_model_evaluation")
    if summary.empty:
        return
    first = summary.iloc[0]
    st.markdown("**Backtest: the model against the recency rule and the majority baseline**")
    st.caption(
        f"Trained at {pd.Timestamp(first.train_cutoff):%Y-%m-%d}, scored at "
        f"{pd.Timestamp(first.eval_cutoff):%Y-%m-%d} ({count(first.eval_users)} users, churn "
        f"rate {pct(first.eval_churn_rate)}, horizon {first.horizon_days} days). The model "
        "is chosen on a validation split (is_chosen). Lift = a decile's churn rate / the "
        "overall rate; mean score against churn rate is the calibration. "
        "marts.fct_churn_model_evaluation."
    )
    table(summary)
    lift = load("churn_model_lift")
    if not lift.empty:
        st.altair_chart(
            alt.Chart(lift, height=220)
            .mark_line(point=True)
            .encode(
                x=alt.X("decile:O", title="decile (1 = highest scores)"),
                y=alt.Y("lift:Q", title="lift"),
                color=alt.Color("scorer:N"),
                tooltip=["scorer:N", "decile:O", "users:Q", "churn_rate:Q", "lift:Q"],
            ),
        )


# ------------------------------------------------------------------ compliance queue


def compliance(filters: Filters) -> None:
    st.title("Compliance alerts")
    period_caption(
        filters,
        "Alerts detected on the selected days: rule hits, system "
        "alerts and security events (marts.fct_compliance_alerts).",
    )
    values = load("compliance_filter_values")
    options = {f: values[values.field == f].value.tolist() for f in ("severity", "rule", "status")}
    c = st.columns(3)
    filters.severities = multiselect(
        c[0], "Severity", options["severity"], "severities", "All severities"
    )
    filters.rules = multiselect(c[1], "Rule", options["rule"], "rules", "All rules")
    filters.statuses = multiselect(
        c[2], "Investigation status", options["status"], "statuses", "All statuses"
    )
    alerts = load("compliance_alerts", filters.params())
    queue = load("compliance_open_queue", filters.params())
    c = st.columns(6)
    c[0].metric("Alerts", count(len(alerts)))
    c[1].metric("Open", count(len(queue)))
    c[2].metric("Pending", count((alerts.investigation_status == "pending").sum()))
    c[3].metric("High or critical", count(alerts.severity.isin(["high", "critical"]).sum()))
    c[4].metric("SAR candidates", count(alerts.is_sar_candidate.fillna(False).sum()))
    c[5].metric("Amount flagged", usd(alerts.amount_usd.sum()))
    daily = load("compliance_alerts_daily", filters.params())
    if not daily.empty:
        st.markdown("**Alerts per day by severity**")
        st.altair_chart(
            charts.stacked_daily(
                daily,
                x="alert_date",
                y="alert_count",
                colour="severity",
                y_title="Alerts (count)",
                colour_title="Severity",
                fmt=charts.COUNT,
                axis_fmt=charts.COUNT,
                height=220,
                colours=SEVERITY_COLOURS,
            ),
        )
    st.subheader("Open queue: most severe first, newest first")
    st.caption(
        "Open = not completed. Record a decision (status, disposition, assignee, note) with "
        "`python -m compliance review ALERT_ID --status ... --note ...`; it shows here after "
        "the next build, and every decision stays in the audit trail "
        "(`python -m compliance history ALERT_ID`)."
    )
    show_closed = st.toggle("Include completed alerts", key="include_closed")
    shown = alerts.drop(columns="is_open") if show_closed else queue
    if nothing_in_range(shown, "alerts matching the filters"):
        return
    table(
        shown,
        column_config={
            "amount_usd": st.column_config.NumberColumn(format="$%.0f"),
            "detected_at": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
            "reviewed_at": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
        },
    )


# ------------------------------------------------------------------ market liquidity


def liquidity(filters: Filters) -> None:
    st.title("Market liquidity")
    period_caption(
        filters,
        "Per pair over the selected days (pairs in the sidebar; none "
        "selected = all). marts.fct_pair_liquidity_daily, fct_pair_candles_daily, "
        "rpt_pair_competitive_positioning_daily.",
    )
    pairs = load("liquidity_by_pair", filters.params())
    if nothing_in_range(pairs, "pair-days"):
        return
    daily = load("liquidity_daily", filters.params())
    deviations = load("price_deviations_daily", filters.params())
    c = st.columns(4)
    c[0].metric("Volume (USD)", usd(pairs.trading_volume_usd.sum()))
    c[1].metric("Fills", count(pairs.trade_count.sum()))
    c[2].metric(
        "Average spread (bps)",
        f"{daily.avg_spread_bps.mean():.2f}" if daily.avg_spread_bps.notna().any() else "–",
        help="Mean of the pair-days' average spreads.",
    )
    c[3].metric(
        "Price deviation alerts",
        count(deviations.deviation_alert_count.sum()),
        help="Hours whose close deviated from an external reference beyond the threshold.",
    )
    table(
        pairs,
        column_config={
            "avg_spread_bps": st.column_config.NumberColumn("avg spread bps", format="%.2f"),
            "avg_p95_spread_bps": st.column_config.NumberColumn("p95 spread bps", format="%.2f"),
            "avg_total_depth_1_percent": st.column_config.NumberColumn(
                "depth within 1% (base units)", format="compact"
            ),
            "avg_total_depth_1_percent_usd": st.column_config.NumberColumn(
                "depth within 1% (USD)", format="dollar"
            ),
            "trading_volume_usd": st.column_config.NumberColumn("volume USD", format="dollar"),
            "trade_count": st.column_config.NumberColumn("fills", format="localized"),
            "crossed_snapshot_count": st.column_config.NumberColumn("crossed books"),
            "avg_realized_volatility": st.column_config.NumberColumn(
                "realized volatility", format="%.4f"
            ),
        },
    )
    left, right = st.columns(2)
    with left:
        st.markdown("**Depth within 1% of the mid, average per pair**")
        st.altair_chart(
            charts.ranked_bars(
                pairs.dropna(subset=["avg_total_depth_1_percent_usd"]),
                "symbol",
                "avg_total_depth_1_percent_usd",
                "Depth within 1% (USD)",
            )
        )
    with right:
        st.markdown("**Trading volume per pair over the period**")
        st.altair_chart(
            charts.ranked_bars(pairs, "symbol", "trading_volume_usd", "Trading volume (USD)")
        )
    st.markdown("**Share of the exchange's volume by day: the top 5 pairs and the others**")
    st.altair_chart(charts.share_by_day(daily, "date_day", "symbol", "trading_volume_usd"))
    st.markdown("**Average spread by day, one chart per pair (basis points)**")
    st.altair_chart(
        charts.small_multiples(
            daily,
            "date_day",
            "avg_spread_bps",
            "symbol",
            "Spread (bps)",
            charts.BPS,
            independent=True,
        ),
        width="content",  # a facet's cells keep their width; the page does not squeeze them
    )
    candles = load("candles_daily", filters.params())
    if not candles.empty:
        st.markdown("**Daily close, indexed to 100 at the first day**")
        first = candles.groupby("symbol").close_price.transform("first")
        st.altair_chart(
            charts.small_multiples(
                candles.assign(close_index=candles.close_price / first * 100),
                "candle_date",
                "close_index",
                "symbol",
                "Close (first day = 100)",
                ",.0f",
            ),
            width="content",
        )
    if not deviations.empty:
        st.markdown("**Average absolute deviation from external prices (basis points)**")
        st.altair_chart(
            charts.small_multiples(
                deviations,
                "date_day",
                "avg_abs_deviation_bps",
                "symbol",
                "Deviation (bps)",
                charts.BPS,
            ),
            width="content",
        )
