"""The daily executive report: one self-contained HTML file per day of data.

    python -m orchestration.executive_report --warehouse FILE [--date YYYY-MM-DD] [--out DIR]

writes ``DIR/exec_report_<day>.html`` (default DIR ``$EXCHANGE_REPORT_DIR`` or ``data/reports``;
default day: the last day of ``marts.fct_daily_exchange_kpis``) and prints its path. Exit codes:
0 written, 2 the warehouse cannot be used or the day is not in the data.

Everything comes from the marts, read on a read-only connection (docs/report.md):

* the day's KPIs beside their targets (the ``*_target`` columns of fct_daily_exchange_kpis,
  from the seeds the dashboard shows) and beside the trailing week (the seven days before);
* charts of the last 30 days (volume, revenue, DAU, churn rate; targets dashed), the day's
  compliance alerts by rule and the records quarantined by source table, as inline SVG drawn
  here (no script, no network, nothing to install: the file opens offline anywhere);
* generated sentences on the largest moves against the trailing week, the day's KPI anomalies
  (fct_kpi_anomalies), the rule hits (fct_compliance_alerts) and the next-best-action counts
  (fct_next_best_actions); the data-quality scorecard and the churn model's backtest.

Importing this module loads neither Dagster nor dbt (the Dagster asset
``orchestration.assets.report.daily_report`` calls :func:`write_report`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from warehouse import open_warehouse, settings

REPO = Path(__file__).resolve().parents[1]
KPI_RELATION = "marts.fct_daily_exchange_kpis"
CHART_DAYS = 30
TRAILING_DAYS = 7
MOVES_SHOWN = 3
ACTIONS_SHOWN = 10


class ReportError(ValueError):
    """The report cannot be written: the warehouse is not built, or the day is not in it."""


# ---------------------------------------------------------------------------- formats


def usd(x) -> str:
    return "–" if x is None else f"${float(x):,.0f}"


def usd_cents(x) -> str:
    return "–" if x is None else f"${float(x):,.2f}"


def count(x) -> str:
    return "–" if x is None else f"{float(x):,.0f}"


def pct(x) -> str:
    return "–" if x is None else f"{float(x) * 100:.1f}%"


def signed_pct(x) -> str:
    return "–" if x is None else f"{float(x) * 100:+.1f}%"


def compact_usd(x: float) -> str:
    """Axis labels: $1.2M, $950k, $12."""
    return "$" + compact(x)


def compact(x: float) -> str:
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= size:
            return f"{x / size:.3g}{suffix}"
    return f"{x:.3g}"


def axis_pct(x: float) -> str:
    return f"{x * 100:.3g}%"


@dataclass(frozen=True)
class Kpi:
    column: str
    label: str
    fmt: Callable
    target: str | None
    # True: a higher value is good (a fall is named as a fall against the target).
    higher_is_better: bool = True


KPIS = (
    Kpi("trading_volume_usd", "Trading volume", usd, "trading_volume_usd_target"),
    Kpi("revenue_usd", "Revenue", usd, "revenue_usd_target"),
    Kpi("active_traders", "Daily active traders", count, "active_traders_target"),
    Kpi("trade_count", "Fills", count, None),
    Kpi("revenue_per_trade_usd", "Revenue per fill", usd_cents, "revenue_per_trade_usd_target"),
    Kpi("fill_rate", "Order fill rate", pct, "fill_rate_target"),
    Kpi("new_registrations", "Sign-ups", count, None),
    Kpi("churn_rate", "Churn rate", pct, None, higher_is_better=False),
)
KPI_BY_COLUMN = {k.column: k for k in KPIS}


# ---------------------------------------------------------------------------- data


@dataclass
class ReportData:
    day: dt.date
    first_day: dt.date
    last_day: dt.date
    kpis: list[dict]  # the chart window, oldest first, ending on `day`
    trailing: dict[str, float | None]  # mean of the TRAILING_DAYS days before `day`
    trailing_days: int
    month: dict | None = None
    anomalies: list[dict] = field(default_factory=list)
    anomalies_available: bool = False
    alerts_by_rule: list[dict] = field(default_factory=list)
    alerts_available: bool = False
    critical_integrity_alerts: int = 0
    actions: list[dict] = field(default_factory=list)
    actions_as_of: dt.date | None = None
    actions_available: bool = False
    scorecard: dict | None = None
    quarantined_by_table: list[tuple[str, int]] = field(default_factory=list)
    churn_evaluation: list[dict] = field(default_factory=list)

    @property
    def today(self) -> dict:
        return self.kpis[-1]


def _exists(con: duckdb.DuckDBPyConnection, relation: str) -> bool:
    schema, name = relation.split(".", 1)
    return bool(
        con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchone()[0]
    )


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> set[str]:
    schema, name = relation.split(".", 1)
    return {
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchall()
    }


def _dicts(cursor) -> list[dict]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _float(x) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def collect(con: duckdb.DuckDBPyConnection, day: dt.date | None = None) -> ReportData:
    """Read what the report shows for `day` (default: the last day of KPIs)."""
    if not _exists(con, KPI_RELATION):
        raise ReportError(f"{KPI_RELATION} is not built: run the pipeline (`make pipeline`) first")
    first_day, last_day = con.execute(
        f"select min(kpi_date), max(kpi_date) from {KPI_RELATION}"
    ).fetchone()
    if last_day is None:
        raise ReportError(f"{KPI_RELATION} has no rows yet")
    day = day or last_day
    if not first_day <= day <= last_day:
        raise ReportError(f"no KPIs for {day}: {KPI_RELATION} holds {first_day} to {last_day}")
    available = _columns(con, KPI_RELATION)
    wanted = [k.column for k in KPIS] + [k.target for k in KPIS if k.target]
    select = ", ".join(["kpi_date", *(c for c in wanted if c in available)])
    kpis = _dicts(
        con.execute(
            f"select {select} from {KPI_RELATION} "
            "where kpi_date <= ? and kpi_date > ? order by kpi_date",
            [day, day - dt.timedelta(days=CHART_DAYS)],
        )
    )
    if not kpis or kpis[-1]["kpi_date"] != day:
        raise ReportError(f"no KPIs for {day} in {KPI_RELATION}")
    week = [r for r in kpis if day - dt.timedelta(days=TRAILING_DAYS) <= r["kpi_date"] < day]
    trailing = {}
    for k in KPIS:
        values = [_float(r.get(k.column)) for r in week]
        values = [v for v in values if v is not None]
        trailing[k.column] = sum(values) / len(values) if values else None
    data = ReportData(day, first_day, last_day, kpis, trailing, len(week))

    monthly = "marts.fct_monthly_exchange_kpis"
    if _exists(con, monthly):
        rows = _dicts(
            con.execute(
                "select month_start_date, revenue_usd, revenue_growth_pct, "
                "revenue_growth_pct_target, monthly_churn_rate, monthly_churn_rate_target, "
                f"is_complete_month from {monthly} "
                "where month_start_date = date_trunc('month', cast(? as date))",
                [day],
            )
        )
        data.month = rows[0] if rows else None

    anomalies = "marts.fct_kpi_anomalies"
    if _exists(con, anomalies):
        data.anomalies_available = True
        data.anomalies = _dicts(
            con.execute(
                "select metric_name, metric_value, baseline_value, robust_z_score, "
                "relative_change, band_lower, band_upper, anomaly_direction "
                f"from {anomalies} where kpi_date = ? and is_anomaly "
                "order by abs(robust_z_score) desc nulls last, metric_name",
                [day],
            )
        )

    alerts = "marts.fct_compliance_alerts"
    if _exists(con, alerts):
        data.alerts_available = True
        data.alerts_by_rule = _dicts(
            con.execute(
                "select rule_name, "
                "count(*) filter (where detected_date = $day) as alerts, "
                "count(distinct user_id) filter (where detected_date = $day) as users, "
                "count(*) filter (where detected_date = $day and severity in "
                "('high', 'critical')) as high_or_critical, "
                "count(*) filter (where detected_date < $day) / $days as trailing_daily "
                f"from {alerts} "
                "where detected_date <= $day and detected_date >= $day - $days "
                "group by rule_name order by alerts desc, trailing_daily desc, rule_name",
                {"day": day, "days": TRAILING_DAYS},
            )
        )
        if "alert_source" in _columns(con, alerts):
            data.critical_integrity_alerts = con.execute(
                f"select count(*) from {alerts} where alert_source = 'data_quality' "
                "and severity = 'critical' and detected_date <= ?",
                [day],
            ).fetchone()[0]

    actions = "marts.fct_next_best_actions"
    if _exists(con, actions):
        data.actions_available = True
        data.actions = _dicts(
            con.execute(
                "select action, count(*) as users, sum(expected_value_usd) as expected_value_usd, "
                "sum(value_at_stake_usd) as value_at_stake_usd, max(as_of_date) as as_of_date "
                f"from {actions} group by action order by users desc, action"
            )
        )
        data.actions_as_of = max((a["as_of_date"] for a in data.actions), default=None)

    scorecard = "marts.fct_data_quality_scorecard"
    if _exists(con, scorecard):
        rows = _dicts(
            con.execute(
                "select run_started_at, dbt_command, tests_run, tests_passed, tests_warned, "
                "tests_failed, test_pass_rate, records_landed, records_quarantined, "
                "data_accuracy_rate, data_accuracy_target, meets_accuracy_target "
                f"from {scorecard} order by run_started_at desc limit 1"
            )
        )
        data.scorecard = rows[0] if rows else None

    quarantined = "marts.fct_quarantined_rows_daily"
    if _exists(con, quarantined):
        data.quarantined_by_table = [
            (table, int(rows))
            for table, rows in con.execute(
                "select source_table, sum(rows_quarantined) "
                f"from {quarantined} group by source_table order by 2 desc, 1"
            ).fetchall()
        ]

    evaluation = "marts.fct_churn_model_evaluation"
    if _exists(con, evaluation):
        data.churn_evaluation = _dicts(
            con.execute(
                "select scorer, is_chosen, roc_auc, precision_top_decile, recall_top_decile, "
                "brier_score, lift, eval_cutoff, horizon_days, eval_users "
                f"from {evaluation} where decile = 1 order by scorer"
            )
        )
    return data


# ---------------------------------------------------------------------------- sentences


def _change(value, base) -> float | None:
    value, base = _float(value), _float(base)
    if value is None or base is None or base == 0:
        return None
    return (value - base) / abs(base)


def moves(data: ReportData) -> list[str]:
    """The largest relative moves of the day's KPIs against the trailing-week average."""
    if not data.trailing_days:
        return [f"{data.day} is the first day of data: there is no trailing week to compare."]
    changes = []
    for k in KPIS:
        if k.column not in data.today:
            continue
        change = _change(data.today[k.column], data.trailing[k.column])
        if change is not None:
            changes.append((abs(change), k, change))
    changes.sort(key=lambda c: (-c[0], c[1].column))
    week = (
        "the trailing-week average"
        if data.trailing_days == TRAILING_DAYS
        else f"the average of the {data.trailing_days} days before"
    )
    sentences = []
    for _, k, change in changes[:MOVES_SHOWN]:
        verb = "rose" if change > 0 else "fell" if change < 0 else "held"
        sentences.append(
            f"{k.label} {verb} {abs(change) * 100:.1f}% to {k.fmt(data.today[k.column])} "
            f"against {week} of {k.fmt(data.trailing[k.column])}."
        )
    return sentences or ["No KPI can be compared with the trailing week (no values)."]


def target_sentences(data: ReportData) -> list[str]:
    missed = []
    met = []
    for k in KPIS:
        if not k.target or k.target not in data.today or data.today.get(k.column) is None:
            continue
        target = _float(data.today[k.target])
        if target is None:
            continue
        value = float(data.today[k.column])
        ok = value >= target if k.higher_is_better else value <= target
        (met if ok else missed).append(k.label.lower())
    if not met and not missed:
        return []
    if not missed:
        return [f"Every KPI with a target met it ({', '.join(met)})."]
    return [
        f"Below target: {', '.join(missed)}."
        + (f" On or above target: {', '.join(met)}." if met else "")
    ]


def _metric_fmt(metric: str) -> Callable:
    kpi = KPI_BY_COLUMN.get(metric)
    if kpi:
        return kpi.fmt
    if metric.endswith("_usd"):
        return usd
    if metric.endswith("_rate"):
        return pct
    return count


def anomaly_sentences(data: ReportData) -> list[str]:
    if not data.anomalies_available:
        return ["fct_kpi_anomalies is not in this warehouse."]
    if not data.anomalies:
        return [f"No KPI was anomalous on {data.day} (fct_kpi_anomalies)."]
    out = []
    for a in data.anomalies:
        fmt = _metric_fmt(a["metric_name"])
        label = (
            KPI_BY_COLUMN[a["metric_name"]].label
            if a["metric_name"] in KPI_BY_COLUMN
            else (a["metric_name"].replace("_", " "))
        )
        z = _float(a["robust_z_score"])
        direction = a["anomaly_direction"] or ""
        out.append(
            f"{label} was {fmt(a['metric_value'])} against a baseline of "
            f"{fmt(a['baseline_value'])} ({signed_pct(_float(a['relative_change']))}"
            + (f", robust z-score {z:+.1f}" if z is not None else "")
            + f"): {direction + ' ' if direction else ''}outside the expected band "
            f"{fmt(a['band_lower'])} to {fmt(a['band_upper'])}."
        )
    return out


def alert_sentences(data: ReportData) -> list[str]:
    if not data.alerts_available:
        return ["fct_compliance_alerts is not in this warehouse."]
    total = sum(r["alerts"] for r in data.alerts_by_rule)
    hit = [r for r in data.alerts_by_rule if r["alerts"]]
    out = []
    if not hit:
        out.append(f"No compliance rule fired on {data.day}.")
    else:
        top = hit[0]
        out.append(
            f"{total:,} compliance alert{'s' * (total != 1)} on {data.day} from {len(hit)} "
            f"rule{'s' * (len(hit) != 1)}; the most from {top['rule_name']} "
            f"({top['alerts']:,} alert{'s' * (top['alerts'] != 1)}, {top['users']:,} "
            f"user{'s' * (top['users'] != 1)})."
        )
        high = sum(r["high_or_critical"] for r in hit)
        if high:
            out.append(f"{high:,} of them are of high or critical severity.")
        jumps = [
            r for r in hit if r["alerts"] >= 3 and r["alerts"] >= 2 * (r["trailing_daily"] or 0)
        ]
        for r in jumps[:3]:
            out.append(
                f"{r['rule_name']} fired {r['alerts']:,} times, against "
                f"{float(r['trailing_daily'] or 0):.1f} a day in the trailing week."
            )
    if data.critical_integrity_alerts:
        out.append(
            f"CRITICAL: {data.critical_integrity_alerts:,} data-quality alert"
            f"{'s' * (data.critical_integrity_alerts != 1)} on the ledgers (a broken balance "
            "chain or wallet balance) up to this day: see fct_compliance_alerts."
        )
    return out


def action_sentences(data: ReportData) -> list[str]:
    if not data.actions_available:
        return ["fct_next_best_actions is not in this warehouse."]
    if not data.actions:
        return ["No next-best action is proposed."]
    users = sum(a["users"] for a in data.actions)
    value = sum(_float(a["expected_value_usd"]) or 0 for a in data.actions)
    top = data.actions[0]
    when = (
        f"as of {data.actions_as_of}"
        if data.actions_as_of == data.day
        else f"as of {data.actions_as_of}, the last day scored (not {data.day})"
    )
    return [
        f"{users:,} users have a next-best action {when}, worth {usd(value)} of expected "
        f"value; the most common is {top['action']} ({top['users']:,} users)."
    ]


# ---------------------------------------------------------------------------- SVG charts

WIDTH, HEIGHT = 560, 220
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 32
SERIES_COLOUR = "#1f5fa8"
TARGET_COLOUR = "#444444"
DAY_COLOUR = "#c2410c"


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def nice_ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    """About n round tick values covering [lo, hi]."""
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / n
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(lo / step) * step
    ticks = []
    value = start
    while value <= hi + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    if ticks[-1] < hi:
        ticks.append(ticks[-1] + step)
    return ticks


def line_chart(
    title: str,
    y_title: str,
    days: Sequence[dt.date],
    values: Sequence[float | None],
    value_fmt: Callable,
    axis_fmt: Callable,
    target: Sequence[float | None] | None = None,
    chart_id: str = "",
) -> str:
    """A measure by day as an SVG line, the target dashed, the report's day marked."""
    points = [(d, _float(v)) for d, v in zip(days, values, strict=True)]
    targets = [(d, _float(v)) for d, v in zip(days, target or [None] * len(days), strict=True)]
    known = [v for _, v in points + targets if v is not None]
    if not known:
        return f'<p class="empty">{_e(title)}: no values.</p>'
    lo, hi = min(known), max(known)
    lo = min(lo, 0.0) if lo >= 0 and (hi - lo) > 0.5 * hi else lo - (hi - lo) * 0.1
    ticks = nice_ticks(lo, hi * 1.02 if hi > 0 else hi + 1)
    y0, y1 = ticks[0], ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = len(days)

    def x(i: int) -> float:
        return LEFT + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return TOP + plot_h * (1 - (v - y0) / (y1 - y0))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{_e(title)}"'
        + (f' id="{_e(chart_id)}"' if chart_id else "")
        + f"><title>{_e(title)}</title>"
    ]
    for t in ticks:
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(t):.1f}" y2="{y(t):.1f}" '
            'stroke="#e3e3e3"/>'
            f'<text x="{LEFT - 6}" y="{y(t) + 4:.1f}" text-anchor="end" class="tick">'
            f"{_e(axis_fmt(t))}</text>"
        )
    for i in sorted({0, n // 2, n - 1}):
        parts.append(
            f'<text x="{x(i):.1f}" y="{HEIGHT - 10}" text-anchor="middle" class="tick">'
            f"{days[i]:%b %d}</text>"
        )
    parts.append(
        f'<text x="14" y="{TOP + plot_h / 2:.1f}" transform="rotate(-90 14 {TOP + plot_h / 2:.1f})"'
        f' text-anchor="middle" class="axis">{_e(y_title)}</text>'
    )

    def path(series, colour: str, dash: str = "") -> str:
        segments, current = [], []
        for i, (_, v) in enumerate(series):
            if v is None:
                if current:
                    segments.append(current)
                current = []
            else:
                current.append(f"{x(i):.1f},{y(v):.1f}")
        if current:
            segments.append(current)
        return "".join(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
            + (f'stroke-dasharray="{dash}" ' if dash else "")
            + f'points="{" ".join(s)}"/>'
            for s in segments
            if len(s) > 1
        )

    if any(v is not None for _, v in targets):
        parts.append(path(targets, TARGET_COLOUR, "5,4"))
    parts.append(path(points, SERIES_COLOUR))
    for i, (d, v) in enumerate(points):
        if v is None:
            continue
        last = i == n - 1
        parts.append(
            f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="{4 if last else 2}" '
            f'fill="{DAY_COLOUR if last else SERIES_COLOUR}"><title>{d}: {_e(value_fmt(v))}'
            "</title></circle>"
        )
    parts.append("</svg>")
    legend = (
        '<span class="legend"><span class="swatch solid"></span>actual '
        '<span class="swatch dashed"></span>target <span class="swatch day"></span>'
        "the report's day</span>"
        if any(v is not None for _, v in targets)
        else '<span class="legend"><span class="swatch day"></span>the report\'s day</span>'
    )
    return f"<figure><figcaption>{_e(title)} {legend}</figcaption>{''.join(parts)}</figure>"


def bar_chart(
    title: str,
    items: Sequence[tuple[str, float]],
    value_fmt: Callable,
    chart_id: str = "",
    empty: str = "nothing to show",
) -> str:
    """Horizontal bars, one per label, the value written at the end of the bar."""
    if not items:
        return (
            f'<figure><figcaption>{_e(title)}</figcaption><p class="empty">{_e(empty)}</p></figure>'
        )
    row, label_w, value_w = 22, 210, 70
    height = TOP + row * len(items) + 8
    top = max((float(v) for _, v in items), default=0) or 1.0
    plot_w = WIDTH - label_w - value_w
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" aria-label="{_e(title)}"'
        + (f' id="{_e(chart_id)}"' if chart_id else "")
        + f"><title>{_e(title)}</title>"
    ]
    for i, (label, value) in enumerate(items):
        y = TOP + i * row
        w = plot_w * float(value) / top
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 14}" text-anchor="end" class="tick">'
            f"{_e(label)}</text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{max(w, 0.5):.1f}" height="{row - 7}" '
            f'fill="{SERIES_COLOUR}"><title>{_e(label)}: {_e(value_fmt(value))}</title></rect>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 14}" class="tick">'
            f"{_e(value_fmt(value))}</text>"
        )
    parts.append("</svg>")
    return f"<figure><figcaption>{_e(title)}</figcaption>{''.join(parts)}</figure>"


# ---------------------------------------------------------------------------- HTML

STYLE = """
body { font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: #1d1d1d; margin: 0 auto; max-width: 1180px; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; }
.sub { color: #555; margin: 0 0 16px; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e3e3e3; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.miss { color: #b91c1c; font-weight: 600; } .met { color: #15803d; }
.critical { background: #fee2e2; border: 1px solid #b91c1c; padding: 8px 12px; }
.charts { display: flex; flex-wrap: wrap; gap: 12px 24px; }
figure { margin: 0; } figcaption { font-weight: 600; margin: 4px 0; }
.tick { font-size: 11px; fill: #444; } .axis { font-size: 11px; fill: #222; }
.legend { font-weight: 400; font-size: 12px; color: #444; margin-left: 8px; }
.swatch { display: inline-block; width: 18px; height: 0; margin: 0 4px 3px 8px;
          border-top: 2px solid #1f5fa8; }
.swatch.dashed { border-top: 2px dashed #444; }
.swatch.day { width: 8px; height: 8px; border: 0; border-radius: 4px; background: #c2410c; }
.empty { color: #666; font-style: italic; }
ul.sentences li { margin: 2px 0; }
"""


def _sentences(items: list[str], css_id: str) -> str:
    return (
        f'<ul class="sentences" id="{css_id}">'
        + "".join(f"<li>{_e(s)}</li>" for s in items)
        + "</ul>"
    )


def kpi_table(data: ReportData) -> str:
    rows = [
        '<table id="kpis"><thead><tr><th>KPI</th><th>value</th><th>target</th>'
        "<th>against target</th><th>trailing week</th><th>change</th></tr></thead><tbody>"
    ]
    for k in KPIS:
        if k.column not in data.today:
            continue
        value = data.today[k.column]
        target = _float(data.today.get(k.target)) if k.target else None
        verdict = ""
        if target is not None and value is not None:
            ok = float(value) >= target if k.higher_is_better else float(value) <= target
            verdict = (
                f'<span class="{"met" if ok else "miss"}">'
                f"{signed_pct(_change(value, target))} {'met' if ok else 'missed'}</span>"
            )
        rows.append(
            f'<tr id="kpi-{k.column}"><td>{_e(k.label)}</td>'
            f'<td class="value">{_e(k.fmt(value))}</td>'
            f'<td class="target">{_e(k.fmt(target)) if target is not None else ""}</td>'
            f"<td>{verdict}</td>"
            f'<td class="trailing">{_e(k.fmt(data.trailing[k.column]))}</td>'
            f'<td class="change">{_e(signed_pct(_change(value, data.trailing[k.column])))}</td>'
            "</tr>"
        )
    rows.append("</tbody></table>")
    if data.month:
        m = data.month
        partial = "" if m.get("is_complete_month") else " (month to date)"
        rows.append(
            f'<p id="month">{m["month_start_date"]:%B %Y}{partial}: revenue '
            f"{usd(m['revenue_usd'])}, growth {signed_pct(_float(m['revenue_growth_pct']))} "
            f"(target {signed_pct(_float(m['revenue_growth_pct_target']))}), monthly churn "
            f"rate {pct(_float(m['monthly_churn_rate']))} (target "
            f"{pct(_float(m['monthly_churn_rate_target']))}).</p>"
        )
    note = (
        "Targets: the <code>*_target</code> columns of fct_daily_exchange_kpis (seeded, as on "
        "the dashboard). Trailing week: the mean of the "
        f"{data.trailing_days} day{'s' * (data.trailing_days != 1)} before {data.day}."
    )
    return "".join(rows) + f'<p class="sub">{note}</p>'


def alerts_table(data: ReportData) -> str:
    hit = [r for r in data.alerts_by_rule if r["alerts"]]
    if not hit:
        return ""
    rows = [
        '<table id="alerts-by-rule"><thead><tr><th>rule</th><th>alerts</th><th>users</th>'
        "<th>high or critical</th><th>trailing week, per day</th></tr></thead><tbody>"
    ]
    for r in hit:
        rows.append(
            f'<tr data-rule="{_e(r["rule_name"])}"><td>{_e(r["rule_name"])}</td>'
            f'<td class="alerts">{r["alerts"]:,}</td><td>{r["users"]:,}</td>'
            f"<td>{r['high_or_critical']:,}</td><td>{float(r['trailing_daily'] or 0):.1f}</td></tr>"
        )
    rows.append("</tbody></table>")
    return "".join(rows)


def actions_table(data: ReportData) -> str:
    if not data.actions:
        return ""
    rows = [
        '<table id="actions"><thead><tr><th>action</th><th>users</th>'
        "<th>expected value</th><th>value at stake</th></tr></thead><tbody>"
    ]
    for a in data.actions[:ACTIONS_SHOWN]:
        rows.append(
            f'<tr data-action="{_e(a["action"])}"><td>{_e(a["action"])}</td>'
            f'<td class="users">{a["users"]:,}</td><td>{usd(a["expected_value_usd"])}</td>'
            f"<td>{usd(a['value_at_stake_usd'])}</td></tr>"
        )
    rows.append("</tbody></table>")
    return "".join(rows)


def quality_section(data: ReportData) -> str:
    out = []
    s = data.scorecard
    if s:
        verdict = "met" if s["meets_accuracy_target"] else "NOT met"
        rate = _float(s["data_accuracy_rate"])
        accuracy = "–" if rate is None else f"{rate * 100:.3f}%"
        out.append(
            f'<p id="scorecard">Latest dbt run with tests ({_e(s["dbt_command"])}, started '
            f"{str(s['run_started_at'])[:19]} UTC): {s['tests_passed']:,} of {s['tests_run']:,} "
            f"tests passed ({pct(_float(s['test_pass_rate']))}), {s['tests_warned']:,} warned, "
            f"{s['tests_failed']:,} failed; data accuracy "
            f"{accuracy} "
            f"against a {pct(_float(s['data_accuracy_target']))} target: {verdict}. "
            f"{s['records_quarantined']:,} of {s['records_landed']:,} landed records "
            "quarantined.</p>"
        )
    else:
        out.append('<p class="empty">No data-quality scorecard in this warehouse.</p>')
    out.append(
        bar_chart(
            "Records quarantined by source table (all loads)",
            data.quarantined_by_table,
            count,
            chart_id="chart-quarantine",
            empty="No record was quarantined.",
        )
    )
    return "".join(out)


def churn_model_section(data: ReportData) -> str:
    if not data.churn_evaluation:
        return ""
    first = data.churn_evaluation[0]
    rows = [
        f'<p class="sub">Backtest at {first["eval_cutoff"]} ({first["eval_users"]:,} active '
        f"users, churn = no fill in the next {first['horizon_days']} days; "
        "marts.fct_churn_model_evaluation).</p>"
        '<table id="churn-model"><thead><tr><th>scorer</th><th>ROC-AUC</th>'
        "<th>precision, top decile</th><th>recall, top decile</th><th>lift, top decile</th>"
        "<th>Brier</th></tr></thead><tbody>"
    ]
    for r in data.churn_evaluation:

        def num(x, digits=3):
            x = _float(x)
            return "–" if x is None else f"{x:.{digits}f}"

        name = r["scorer"] + (" (chosen)" if r["is_chosen"] else "")
        rows.append(
            f'<tr data-scorer="{_e(r["scorer"])}"><td>{_e(name)}</td><td>{num(r["roc_auc"])}</td>'
            f"<td>{pct(_float(r['precision_top_decile']))}</td>"
            f"<td>{pct(_float(r['recall_top_decile']))}</td><td>{num(r['lift'], 2)}</td>"
            f"<td>{num(r['brier_score'])}</td></tr>"
        )
    rows.append("</tbody></table>")
    by_scorer = {r["scorer"]: _float(r["roc_auc"]) for r in data.churn_evaluation}
    chosen = next((r["scorer"] for r in data.churn_evaluation if r["is_chosen"]), None)
    model, rule = by_scorer.get(chosen), by_scorer.get("recency_rule")
    if model is not None and rule is not None:
        rows.append(
            f'<p id="churn-verdict">The chosen model ({_e(chosen)}) '
            f"{'beats' if model > rule else 'does not beat'} the recency rule (days since the "
            f"last fill): ROC-AUC {model:.3f} against {rule:.3f} ({model - rule:+.3f}).</p>"
        )
    return "<h2>Churn model</h2>" + "".join(rows)


def render(data: ReportData, generated_at: dt.datetime | None = None) -> str:
    """The report as one HTML document (no script, no external resource)."""
    generated_at = generated_at or dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    days = [r["kpi_date"] for r in data.kpis]

    def series(column: str) -> list:
        return [r.get(column) for r in data.kpis]

    charts = []
    for column, title, y_title, axis in (
        ("trading_volume_usd", "Trading volume", "USD per day", compact_usd),
        ("revenue_usd", "Revenue", "USD per day", compact_usd),
        ("active_traders", "Daily active traders", "traders", compact),
        ("churn_rate", "Churn rate", "churned / traders to date", axis_pct),
    ):
        if column not in data.today:
            continue
        k = KPI_BY_COLUMN[column]
        target = series(k.target) if k.target and k.target in data.today else None
        charts.append(
            line_chart(
                f"{title}, last {len(days)} days",
                y_title,
                days,
                series(column),
                k.fmt,
                axis,
                target,
                chart_id=f"chart-{column}",
            )
        )
    alert_items = [(r["rule_name"], r["alerts"]) for r in data.alerts_by_rule if r["alerts"]]
    charts.append(
        bar_chart(
            f"Compliance alerts by rule on {data.day}",
            alert_items,
            count,
            chart_id="chart-alerts",
            empty=f"No compliance alert on {data.day}.",
        )
    )
    critical = (
        f'<p class="critical" id="integrity">{_e(alert_sentences(data)[-1])}</p>'
        if data.critical_integrity_alerts
        else ""
    )
    body = [
        f"<h1>Executive report: {data.day}</h1>",
        f'<p class="sub">Crypto exchange warehouse, data from {data.first_day} to '
        f"{data.last_day}. Generated {generated_at:%Y-%m-%d %H:%M} UTC from the marts.</p>",
        critical,
        "<h2>Summary</h2>",
        _sentences(moves(data) + target_sentences(data), "moves"),
        "<h2>KPIs against targets</h2>",
        kpi_table(data),
        "<h2>Charts</h2>",
        f'<div class="charts">{"".join(charts)}</div>',
        "<h2>Anomalies</h2>",
        _sentences(anomaly_sentences(data), "anomalies"),
        "<h2>Compliance rule hits</h2>",
        _sentences(alert_sentences(data), "alerts"),
        alerts_table(data),
        "<h2>Next-best actions</h2>",
        _sentences(action_sentences(data), "actions-summary"),
        actions_table(data),
        "<h2>Data quality</h2>",
        quality_section(data),
        churn_model_section(data),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Executive report {data.day}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def report_dir() -> Path:
    path = settings.current().report_dir
    return path if path.is_absolute() else REPO / path


def report_path(out_dir: Path, day: dt.date) -> Path:
    return out_dir / f"exec_report_{day}.html"


def write_report(con: duckdb.DuckDBPyConnection, out_dir: Path, day: dt.date | None = None) -> Path:
    """Write the report of `day` (default the last day of data) into `out_dir`; its path.
    Written to a temporary name and renamed, so a reader never sees half a report."""
    data = collect(con, day)
    document = render(data)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = report_path(out_dir, data.day)
    partial = path.with_suffix(".html.partial")
    partial.write_text(document, encoding="utf-8")
    partial.replace(path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m orchestration.executive_report",
        description="Write the daily executive report (HTML) for one day of data.",
    )
    parser.add_argument("--warehouse", type=Path, default=None, help="default $EXCHANGE_WAREHOUSE")
    parser.add_argument(
        "--date",
        type=dt.date.fromisoformat,
        default=None,
        help="the day to report (YYYY-MM-DD); default: the last day of data",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="directory (default $EXCHANGE_REPORT_DIR or data/reports)",
    )
    args = parser.parse_args(argv)
    args.warehouse = args.warehouse or settings.current().warehouse
    if not Path(args.warehouse).exists():
        print(
            f"report: no warehouse file at {args.warehouse}: run `make pipeline` first",
            file=sys.stderr,
        )
        return 2
    started = time.perf_counter()
    try:
        with open_warehouse(args.warehouse, read_only=True) as con:
            path = write_report(con, args.out or report_dir(), args.date)
    except duckdb.IOException as error:
        print(
            f"report: cannot open {args.warehouse} (another process writing it?): {error}",
            file=sys.stderr,
        )
        return 2
    except ReportError as error:
        print(f"report: {error}", file=sys.stderr)
        return 2
    print(f"{path} ({time.perf_counter() - started:.2f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
