"""The daily report: the last days' KPIs beside their targets, the compliance alert count, the
data-quality scorecard (test pass rate, data accuracy against its 99% target), the system
metrics that breached their thresholds on the last day, the rules that flagged more than
their ceiling share of the day's active users (alert-flood guard) and the source version
conflicts per table (fct_source_version_conflicts, docs/landing_contract.md#keys-and-versions). A
broken ledger (the critical data-quality alerts of the compliance mart,
docs/reliability.md#financial-integrity) heads the report.

Written by the daily full build after dbt, as Markdown: shown in the Dagster UI (asset
metadata) and kept as a file, ``$EXCHANGE_REPORT_DIR/daily_report_<last data day>.md``
(default ``data/reports``). Beside it the same run writes the executive report of that day,
``exec_report_<last data day>.html`` (orchestration/executive_report.py, docs/report.md):
KPIs against targets, charts, and sentences on the moves, anomalies, rule hits and
next-best actions.
"""

import datetime as dt
from pathlib import Path

import dagster as dg

from orchestration.assets.alerts import ALERT_MARTS, ALERT_RELATIONS
from orchestration.assets.dbt import node_asset_key, node_relation
from orchestration.dbt_project import PROJECT_DIR
from orchestration.resources import WarehouseResource
from warehouse import settings

REPORT_KEY = dg.AssetKey(["ops", "daily_report"])
KPI_MART = "fct_daily_exchange_kpis"
SCORECARD_MART = "fct_data_quality_scorecard"
SYSTEM_METRICS_MART = "fct_system_metrics_daily"
FLAG_SHARE_MART = "fct_compliance_rule_flag_share_daily"
CONFLICTS_MART = "fct_source_version_conflicts"
REPORT_DAYS = 7
INTEGRITY_ALERTS_LISTED = 20  # critical data-quality alerts listed one per line, the rest counted
SCORECARD_RUNS = 3  # latest dbt invocations that ran tests shown in the report

# (column, label, format, target column or None)
KPI_COLUMNS = (
    ("active_traders", "DAU", "{:,.0f}", "active_traders_target"),
    ("trade_count", "fills", "{:,.0f}", None),
    ("trading_volume_usd", "volume USD", "{:,.0f}", "trading_volume_usd_target"),
    ("revenue_usd", "revenue USD", "{:,.0f}", "revenue_usd_target"),
    ("revenue_per_trade_usd", "USD/fill", "{:,.2f}", "revenue_per_trade_usd_target"),
    ("fill_rate", "fill rate", "{:.1%}", "fill_rate_target"),
    ("new_registrations", "sign-ups", "{:,.0f}", None),
)


def report_dir() -> Path:
    path = settings.current().report_dir
    return path if path.is_absolute() else PROJECT_DIR / path


def _fmt(fmt: str, value) -> str:
    return "–" if value is None else fmt.format(float(value))


def _pct(value, digits: int = 1) -> str:
    return "–" if value is None else f"{float(value):.{digits}%}"


def scorecard_section(con, scorecard_relation: str | None) -> list[str]:
    """The data-quality scorecard: the latest dbt invocations that ran data tests."""
    from orchestration.alerts import relation_exists

    if not scorecard_relation or not relation_exists(con, scorecard_relation):
        return []
    cursor = con.execute(
        "SELECT run_started_at, dbt_command, tests_run, tests_passed, tests_warned, tests_failed, "
        "test_pass_rate, records_landed, records_quarantined, records_failing_tests, "
        "data_accuracy_rate, data_accuracy_target, meets_accuracy_target "
        f"FROM {scorecard_relation} ORDER BY run_started_at DESC LIMIT {SCORECARD_RUNS}"
    )
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    lines = ["", "## Data quality scorecard", ""]
    if not rows:
        return [*lines, "No dbt run with data tests recorded yet."]
    lines += [
        "| dbt run started (UTC) | command | tests passed | warned | failed | pass rate "
        "| records landed | quarantined | in failing tests | data accuracy | target |",
        "|---" * 11 + "|",
    ]
    for r in rows:
        verdict = "met" if r["meets_accuracy_target"] else "NOT met"
        lines.append(
            f"| {str(r['run_started_at'])[:19]} | {r['dbt_command']} "
            f"| {r['tests_passed']}/{r['tests_run']} | {r['tests_warned']} | {r['tests_failed']} "
            f"| {_pct(r['test_pass_rate'])} | {r['records_landed']:,} "
            f"| {r['records_quarantined']:,} | {r['records_failing_tests']:,} "
            f"| {_pct(r['data_accuracy_rate'], 3)} "
            f"| {_pct(r['data_accuracy_target'], 0)} {verdict} |"
        )
    lines += [
        "",
        "Data accuracy: records landed, less those quarantined and those returned by failing "
        "or warning tests, over records landed (doc block metric_data_accuracy_rate).",
    ]
    return lines


def integrity_section(con, compliance_relation: str | None) -> list[str]:
    """The critical data-quality alerts of the compliance mart: ledgers whose balance chain or
    wallet balance is broken (alert_source data_quality). Empty when the mart lacks them."""
    from orchestration.alerts import DATA_QUALITY_SOURCE, relation_columns, relation_exists

    if not compliance_relation or not relation_exists(con, compliance_relation):
        return []
    if "alert_source" not in relation_columns(con, compliance_relation):
        return []
    rows = con.execute(
        "SELECT rule_name, user_id, hit_key, evidence_count, alert_details, detected_at "
        f"FROM {compliance_relation} WHERE alert_source = ? AND severity = 'critical' "
        "ORDER BY detected_at DESC, rule_name, user_id, hit_key",
        [DATA_QUALITY_SOURCE],
    ).fetchall()
    lines = ["", "## Financial integrity", ""]
    if not rows:
        return [*lines, "Ledger invariants hold: no critical data-quality alert."]
    lines.append(
        f"**CRITICAL: {len(rows)} data-quality alert{'s' * (len(rows) != 1)}** (a broken ledger; "
        "the compliance alerts below were still built from the data that arrived):"
    )
    lines.append("")
    for rule, user, hit_key, count, details, detected_at in rows[:INTEGRITY_ALERTS_LISTED]:
        lines.append(
            f"- {rule}: user {user}, {hit_key}, {count} failing row{'s' * (count != 1)}, "
            f"last at {detected_at}: {details}"
        )
    if len(rows) > INTEGRITY_ALERTS_LISTED:
        lines.append(f"- and {len(rows) - INTEGRITY_ALERTS_LISTED} more")
    return lines


def system_metrics_section(con, metrics_relation: str | None, last_day: str) -> list[str]:
    """The system metrics of the last data day that breached a threshold."""
    from orchestration.alerts import relation_exists

    if not metrics_relation or not relation_exists(con, metrics_relation):
        return []
    rows = con.execute(
        "SELECT metric_type, unit, p50_value, p95_value, p99_value, p95_threshold, p99_threshold "
        f"FROM {metrics_relation} WHERE metric_date = CAST(? AS DATE) AND is_breach "
        "ORDER BY metric_type",
        [last_day],
    ).fetchall()
    lines = ["", f"## System performance on {last_day}", ""]
    if not rows:
        return [*lines, "Every metric within its thresholds."]
    for metric, unit, p50, p95, p99, t95, t99 in rows:
        lines.append(
            f"- {metric}: p50 {_fmt('{:,.1f}', p50)}, p95 {_fmt('{:,.1f}', p95)} "
            f"(max {_fmt('{:,.0f}', t95)}), p99 {_fmt('{:,.1f}', p99)} "
            f"(max {_fmt('{:,.0f}', t99)}) {unit or ''}: threshold breached"
        )
    return lines


def flag_share_section(con, flag_share_relation: str | None, last_day: str) -> list[str]:
    """Data-quality warnings: the rules that flagged more than their ceiling share of the last
    data day's active users (a mis-tuned rule or odd data, seen the day it starts)."""
    from orchestration.alerts import relation_exists

    if not flag_share_relation or not relation_exists(con, flag_share_relation):
        return []
    rows = con.execute(
        "SELECT rule_name, flagged_users, active_users, flagged_share_rate, "
        f"flagged_share_ceiling_rate FROM {flag_share_relation} "
        "WHERE flag_date = CAST(? AS DATE) AND is_above_ceiling ORDER BY rule_name",
        [last_day],
    ).fetchall()
    lines = ["", f"## Rule flag shares on {last_day}", ""]
    if not rows:
        return [*lines, "No rule flagged more than its ceiling share of the day's active users."]
    for rule, flagged, active, share, ceiling in rows:
        lines.append(
            f"- WARNING: rule {rule} flagged {flagged:,} of {active:,} active users "
            f"({_pct(share)}, ceiling {_pct(ceiling)}): a mis-tuned rule or odd data"
        )
    return lines


def conflicts_section(con, conflicts_relation: str | None) -> list[str]:
    """Source version conflicts (docs/landing_contract.md#keys-and-versions): rows of one key with
    the same version but different values; one was kept by the version rule, each is counted here
    per table."""
    from orchestration.alerts import relation_exists

    if not conflicts_relation or not relation_exists(con, conflicts_relation):
        return []
    rows = con.execute(
        "SELECT source_table, count(*), sum(conflicting_rows), max(last_loaded_at) "
        f"FROM {conflicts_relation} GROUP BY source_table ORDER BY source_table"
    ).fetchall()
    lines = ["", "## Source version conflicts", ""]
    if not rows:
        return [*lines, "None: no key arrived twice with the same version and different values."]
    for table, keys, conflicting, last in rows:
        lines.append(
            f"- {table}: {keys:,} keys with conflicting versions ({conflicting:,} rows; last "
            f"loaded {str(last)[:19]}): see {conflicts_relation}"
        )
    return lines


def render_report(
    con,
    kpi_relation: str,
    compliance_relation: str | None,
    scorecard_relation: str | None = None,
    metrics_relation: str | None = None,
    flag_share_relation: str | None = None,
    conflicts_relation: str | None = None,
) -> tuple[str, str]:
    """(last data day, Markdown report)."""
    from orchestration.alerts import relation_exists

    if not relation_exists(con, kpi_relation):
        return "", f"# Daily report\n\n{kpi_relation} is not built yet.\n"
    available = {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ?",
            kpi_relation.split(".", 1),
        ).fetchall()
    }
    columns = [c for c in KPI_COLUMNS if c[0] in available]
    select = ", ".join(
        ["kpi_date"]
        + [c[0] for c in columns]
        + [c[3] for c in columns if c[3] and c[3] in available]
    )
    cursor = con.execute(
        f"SELECT {select} FROM {kpi_relation} ORDER BY kpi_date DESC LIMIT {REPORT_DAYS}"
    )
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    if not rows:
        return "", f"# Daily report\n\n{kpi_relation} has no rows yet.\n"
    last_day = str(rows[0]["kpi_date"])
    lines = [f"# Daily report: {last_day}", *integrity_section(con, compliance_relation)]
    lines += ["", "## KPIs, last days of data", ""]
    lines.append("| day | " + " | ".join(c[1] for c in columns) + " |")
    lines.append("|---" * (len(columns) + 1) + "|")
    for row in rows:
        cells = [_fmt(c[2], row[c[0]]) for c in columns]
        lines.append(f"| {row['kpi_date']} | " + " | ".join(cells) + " |")
    latest = rows[0]
    targets = [
        f"- {label}: {_fmt(fmt, latest[col])} (target {_fmt(fmt, latest[target])})"
        for col, label, fmt, target in columns
        if target and target in latest and latest[target] is not None
    ]
    if targets:
        lines += ["", f"## {last_day} against targets", "", *targets]
    if compliance_relation and relation_exists(con, compliance_relation):
        counts = con.execute(
            f"SELECT severity, count(*) FROM {compliance_relation} "
            "WHERE CAST(detected_at AS DATE) = CAST(? AS DATE) GROUP BY severity ORDER BY 1",
            [last_day],
        ).fetchall()
        summary = ", ".join(f"{n} {severity}" for severity, n in counts) or "none"
        lines += ["", f"## Compliance alerts detected on {last_day}", "", summary]
    lines += flag_share_section(con, flag_share_relation, last_day)
    lines += system_metrics_section(con, metrics_relation, last_day)
    lines += scorecard_section(con, scorecard_relation)
    lines += conflicts_section(con, conflicts_relation)
    return last_day, "\n".join(lines) + "\n"


@dg.asset(
    key=REPORT_KEY,
    deps=[
        k
        for k in (
            node_asset_key(KPI_MART),
            node_asset_key(ALERT_MARTS["compliance"]),
            node_asset_key(SCORECARD_MART),
            node_asset_key(SYSTEM_METRICS_MART),
            node_asset_key(FLAG_SHARE_MART),
            node_asset_key(CONFLICTS_MART),
        )
        if k
    ],
    group_name="ops",
    kinds={"python", "markdown", "html"},
    description="Daily report: the last days' KPIs beside their targets, the day's compliance "
    "alerts, rule flag-share warnings and system metric breaches, the data-quality "
    "scorecard and the source version conflicts, as Markdown (asset "
    "metadata and $EXCHANGE_REPORT_DIR/daily_report_<day>.md); and the executive report "
    "of the day as HTML ($EXCHANGE_REPORT_DIR/exec_report_<day>.html).",
)
def daily_report(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    from orchestration.executive_report import ReportError, write_report

    kpi_relation = node_relation(KPI_MART) or f"marts.{KPI_MART}"
    html_path = None
    with warehouse.connect(read_only=True) as con:
        last_day, markdown = render_report(
            con,
            kpi_relation,
            ALERT_RELATIONS["compliance"],
            node_relation(SCORECARD_MART) or f"marts.{SCORECARD_MART}",
            node_relation(SYSTEM_METRICS_MART) or f"marts.{SYSTEM_METRICS_MART}",
            node_relation(FLAG_SHARE_MART) or f"marts.{FLAG_SHARE_MART}",
            node_relation(CONFLICTS_MART) or f"marts.{CONFLICTS_MART}",
        )
        if last_day:
            try:
                html_path = write_report(con, report_dir(), dt.date.fromisoformat(last_day))
            except ReportError as error:  # the Markdown report above says what is missing
                context.log.warning(f"executive report not written: {error}")
    metadata: dict = {"report": dg.MetadataValue.md(markdown), "last_data_day": last_day}
    if last_day:
        path = report_dir() / f"daily_report_{last_day}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(markdown)
        metadata["path"] = dg.MetadataValue.path(str(path))
        context.log.info(f"report written to {path}")
    if html_path:
        metadata["executive_report"] = dg.MetadataValue.path(str(html_path))
        context.log.info(f"executive report written to {html_path}")
    return dg.MaterializeResult(metadata=metadata)
