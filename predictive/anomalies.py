"""Evaluate KPI anomaly detection (`marts.fct_kpi_anomalies`) against the planted anomalies.

The simulator labels the anomalies it plants in `<landing>/_simulator/planted_cases.csv`
(kind = anomaly): one row per anomaly day, `rule` naming it and `reference_ids` holding the
day. Each maps to the KPIs that measure what it is, and the direction:

- `registration_surge` -> `new_registrations`, spike
- `volume_spike`       -> `trading_volume_usd` (or `trade_count`: "three times the usual
                          trading volume and fills"), spike
- `revenue_drop`       -> `revenue_usd` (or its trading-fee part `trading_fee_revenue_usd`: the
                          outage stops fills and their fees, while withdrawal fees, a large and
                          noisy share of revenue in the simulator, go on), drop

A planted anomaly is *found* when one of its KPIs is flagged on its day in its direction. A *false
alarm* is a flagged day × KPI on a day that is neither a planted anomaly day nor the day after
one. Other flags on those days are reported apart, as related flags: a volume spike also lifts
fills and fees the same day, and a registration surge's KYC approvals and first trades land
the day after.
Planted `support_tickets_attention` cases (users with more than 2 tickets in 30 days) are
checked against `needs_attention` in `marts.dim_user_segments`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

PLANTED_KPI_ANOMALIES = {
    "registration_surge": (("new_registrations",), "spike"),
    "volume_spike": (("trading_volume_usd", "trade_count"), "spike"),
    "revenue_drop": (("revenue_usd", "trading_fee_revenue_usd"), "drop"),
}
ATTENTION_RULE = "support_tickets_attention"
# Days after a planted anomaly whose flags count as its knock-on effects, not false alarms.
AFTERMATH_DAYS = 1


def planted_cases_path(landing: str | Path) -> Path:
    return Path(landing) / "_simulator" / "planted_cases.csv"


def read_planted_anomalies(landing: str | Path) -> pd.DataFrame:
    """The rows of planted_cases.csv with kind = anomaly (empty when there is no such file)."""
    path = planted_cases_path(landing)
    if not path.exists():
        return pd.DataFrame(columns=["case_id", "kind", "rule", "user_id", "reference_ids"])
    cases = pd.read_csv(path, dtype=str, keep_default_na=False)
    return cases[cases["kind"] == "anomaly"].reset_index(drop=True)


@dataclass
class PlantedKpiAnomaly:
    case_id: str
    rule: str
    kpi_date: dt.date
    metric_names: tuple[str, ...]
    direction: str
    found: bool = False
    metric_name: str = ""  # the KPI reported: the first that caught it, else the first listed
    scored: bool = False
    metric_value: float | None = None
    baseline_value: float | None = None
    robust_z_score: float | None = None


@dataclass
class AnomalyEvaluation:
    planted: list[PlantedKpiAnomaly]
    false_alarms: pd.DataFrame
    related_flags: pd.DataFrame
    scored_cells: int
    quiet_scored_cells: int
    attention_cases: int = 0
    attention_flagged: int = 0
    attention_missed: list[str] = field(default_factory=list)

    @property
    def found(self) -> int:
        return sum(p.found for p in self.planted)

    @property
    def false_alarm_rate(self) -> float | None:
        return len(self.false_alarms) / self.quiet_scored_cells if self.quiet_scored_cells else None

    def as_dict(self) -> dict:
        return {
            "planted": len(self.planted),
            "found": self.found,
            "cases": [
                {**p.__dict__, "kpi_date": str(p.kpi_date), "metric_names": list(p.metric_names)}
                for p in self.planted
            ],
            "false_alarms": len(self.false_alarms),
            "false_alarm_rate": self.false_alarm_rate,
            "scored_cells": self.scored_cells,
            "quiet_scored_cells": self.quiet_scored_cells,
            "related_flags": len(self.related_flags),
            "attention_cases": self.attention_cases,
            "attention_flagged": self.attention_flagged,
        }


def planted_kpi_anomalies(planted: pd.DataFrame) -> list[PlantedKpiAnomaly]:
    result = []
    for row in planted.itertuples(index=False):
        if row.rule not in PLANTED_KPI_ANOMALIES:
            continue
        metrics, direction = PLANTED_KPI_ANOMALIES[row.rule]
        for day in str(row.reference_ids).split(";"):
            if day:
                day_date = dt.date.fromisoformat(day[:10])
                result.append(
                    PlantedKpiAnomaly(row.case_id, row.rule, day_date, metrics, direction)
                )
    return result


def evaluate_scores(scores: pd.DataFrame, planted: pd.DataFrame) -> AnomalyEvaluation:
    """Compare rows shaped like fct_kpi_anomalies with the planted anomalies (pure, no database)."""
    scores = scores.copy()
    scores["kpi_date"] = pd.to_datetime(scores["kpi_date"]).dt.date
    kpi_cases = planted_kpi_anomalies(planted)
    planted_days = {
        p.kpi_date + dt.timedelta(days=k) for p in kpi_cases for k in range(AFTERMATH_DAYS + 1)
    }
    by_cell = scores.set_index(["kpi_date", "metric_name"])
    for case in kpi_cases:
        rows = [
            (metric, by_cell.loc[(case.kpi_date, metric)])
            for metric in case.metric_names
            if (case.kpi_date, metric) in by_cell.index
        ]
        caught = [
            (metric, row)
            for metric, row in rows
            if bool(row["is_anomaly"]) and row["anomaly_direction"] == case.direction
        ]
        case.found = bool(caught)
        case.scored = any(pd.notna(row["robust_z_score"]) for _, row in rows)
        if caught or rows:
            case.metric_name, row = (caught or rows)[0]
            case.metric_value = _float(row["metric_value"])
            case.baseline_value = _float(row["baseline_value"])
            case.robust_z_score = _float(row["robust_z_score"])
        else:
            case.metric_name = case.metric_names[0]
    flagged = scores[scores["is_anomaly"].astype(bool)]
    on_planted_day = flagged["kpi_date"].isin(planted_days)
    planted_cells = {(p.kpi_date, m) for p in kpi_cases for m in p.metric_names}
    is_planted_cell = [
        (d, m) in planted_cells
        for d, m in zip(flagged["kpi_date"], flagged["metric_name"], strict=True)
    ]
    related = flagged[on_planted_day & ~pd.Series(is_planted_cell, index=flagged.index, dtype=bool)]
    scored = scores[scores["robust_z_score"].notna()]
    return AnomalyEvaluation(
        planted=kpi_cases,
        false_alarms=flagged[~on_planted_day].reset_index(drop=True),
        related_flags=related.reset_index(drop=True),
        scored_cells=len(scored),
        quiet_scored_cells=int((~scored["kpi_date"].isin(planted_days)).sum()),
    )


def evaluate(con: duckdb.DuckDBPyConnection, landing: str | Path) -> AnomalyEvaluation:
    """Check fct_kpi_anomalies (and needs_attention) against the labels of a landing directory."""
    planted = read_planted_anomalies(landing)
    scores = con.execute("select * from marts.fct_kpi_anomalies").df()
    result = evaluate_scores(scores, planted)
    attention = planted[planted["rule"] == ATTENTION_RULE]
    users = sorted({u for u in attention["user_id"] if u})
    if users:
        flagged = set(
            con.execute(
                "select user_id from marts.dim_user_segments where needs_attention and user_id in "
                "(select unnest($users))",
                {"users": users},
            ).df()["user_id"]
        )
        result.attention_cases = len(users)
        result.attention_flagged = len(flagged)
        result.attention_missed = [u for u in users if u not in flagged]
    return result


def format_report(evaluation: AnomalyEvaluation) -> str:
    lines = [
        "KPI anomaly detection (fct_kpi_anomalies: robust z-score against the trailing median and "
        "MAD, and a material change; vars anomaly_*)",
        f"  planted anomalies found: {evaluation.found} / {len(evaluation.planted)}",
    ]
    for case in evaluation.planted:
        if case.robust_z_score is not None:
            detail = (
                f"z = {case.robust_z_score:+.1f}, value {case.metric_value:,.2f} "
                f"against baseline {case.baseline_value:,.2f}"
            )
        else:
            detail = "not scored (too little history, or no data that day)"
        status = "found" if case.found else "MISSED"
        lines.append(
            f"    {case.case_id} {case.kpi_date} {case.metric_name} ({case.direction}): "
            f"{status}; {detail}"
        )
    rate = evaluation.false_alarm_rate
    lines.append(
        f"  false alarms: {len(evaluation.false_alarms)} flagged day x KPI cells on days without a "
        f"planted anomaly (or its next day), of {evaluation.quiet_scored_cells} scored"
        + (f" (rate {rate:.3f})" if rate is not None else "")
    )
    for row in evaluation.false_alarms.itertuples(index=False):
        lines.append(
            f"    {row.kpi_date} {row.metric_name}: {row.anomaly_direction}, "
            f"z = {row.robust_z_score:+.1f}"
        )
    lines.append(
        f"  related flags on planted days and the day after (other KPIs moved by the anomaly): "
        f"{len(evaluation.related_flags)}"
    )
    if evaluation.attention_cases:
        lines.append(
            f"  churn-risk attention (planted users with > 2 tickets in 30 days): "
            f"{evaluation.attention_flagged} / {evaluation.attention_cases} flagged needs_attention"
        )
    return "\n".join(lines)


def _float(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)
