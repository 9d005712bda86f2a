"""Posting new alerts to a Slack-compatible webhook, each exactly once (no Dagster here).

Sources of alerts, each optional (a mart that is not built yet is skipped):

* high-severity compliance alerts: ``marts.fct_compliance_alerts`` (alert_id, rule_name or
  rule, user_id, severity, amount_usd, detected_at; alert_source and alert_details when
  present), severity ``high`` or ``critical``. Those with alert_source ``data_quality`` (a
  broken ledger invariant, docs/reliability.md#financial-integrity, always critical) are counted
  apart in the message;
* KPI anomalies: ``marts.fct_kpi_anomalies``, the rows with ``is_anomaly`` (one per day and
  metric: the id is ``<kpi_date>:<metric_name>``; any other shape of mart works too, by
  ``anomaly_id``, ``alert_id`` or a hash of the row).
* alert floods: ``marts.fct_compliance_rule_flag_share_daily``, the rows with
  ``is_above_ceiling`` (a rule flagged more than its ceiling share of the day's active users):
  a data-quality warning naming the rule and the day, id ``<flag_date>:<rule_name>``.

Which alerts went out is remembered in the warehouse, table ``ops.sent_alerts`` (alert_key,
source, sent_at). An alert is recorded right after the webhook accepted the message that carried
it, so a re-run never sends it again, and an alert whose message failed is sent by the next run.
Alerts go out in messages of up to ``batch_size`` lines: a first run over months of history
does not flood the channel. The payload is ``{"text": ...}``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

SENT_ALERTS = "ops.sent_alerts"
HIGH_SEVERITIES = ("high", "critical")
DATA_QUALITY_SOURCE = "data_quality"  # fct_compliance_alerts.alert_source of a broken ledger
DEFAULT_BATCH_SIZE = 20


@dataclass(frozen=True)
class Alert:
    key: str  # unique across sources, e.g. "compliance:<alert_id>"
    source: str  # "compliance", "data_quality" or "kpi_anomaly"
    line: str  # one line of the message


def ensure_sent_alerts(con) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS ops")
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {SENT_ALERTS} ("
        "alert_key VARCHAR PRIMARY KEY, source VARCHAR NOT NULL, sent_at TIMESTAMP NOT NULL)"
    )


def relation_exists(con, relation: str) -> bool:
    schema, _, name = relation.rpartition(".")
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = ? AND table_name = ?",
            [schema or "main", name],
        ).fetchone()[0]
    )


def _money(value: Any) -> str:
    return "n/a" if value is None else f"${float(value):,.2f}"


def relation_columns(con, relation: str) -> list[str]:
    schema, _, name = relation.rpartition(".")
    return [
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [schema or "main", name],
        ).fetchall()
    ]


def pending_compliance_alerts(
    con, relation: str = "marts.fct_compliance_alerts", severities: Sequence[str] = HIGH_SEVERITIES
) -> list[Alert]:
    """High-severity compliance alerts not sent yet, oldest first."""
    if not relation_exists(con, relation):
        return []
    columns = set(relation_columns(con, relation))
    rule = "rule_name" if "rule_name" in columns else "rule"
    source = "a.alert_source" if "alert_source" in columns else "NULL"
    details = "a.alert_details" if "alert_details" in columns else "NULL"
    placeholders = ", ".join("?" for _ in severities)
    rows = con.execute(
        f"""
        SELECT a.alert_id, a.{rule}, a.user_id, a.severity, a.amount_usd, a.detected_at,
               {source}, {details}
        FROM {relation} AS a
        WHERE lower(a.severity) IN ({placeholders})
          AND NOT EXISTS (
              SELECT 1 FROM {SENT_ALERTS} AS s
              WHERE s.alert_key = 'compliance:' || CAST(a.alert_id AS VARCHAR)
          )
        ORDER BY a.detected_at, a.alert_id
        """,
        [s.lower() for s in severities],
    ).fetchall()
    alerts = []
    for alert_id, rule_name, user_id, severity, amount, detected_at, origin, text in rows:
        line = f"[{severity}] {rule_name}"
        if origin and origin != "rule":
            line += f" ({origin})"
        line += f": user {user_id or 'n/a'}, {_money(amount)}, detected {detected_at}"
        if text:
            line += f"; {text}"
        alerts.append(
            Alert(
                key=f"compliance:{alert_id}",
                source="data_quality" if origin == DATA_QUALITY_SOURCE else "compliance",
                line=f"{line} (alert {alert_id})",
            )
        )
    return alerts


def _anomaly_key(record: dict[str, Any]) -> str:
    for column in ("anomaly_id", "alert_id"):
        if record.get(column) is not None:
            return str(record[column])
    if record.get("kpi_date") is not None and record.get("metric_name") is not None:
        return f"{record['kpi_date']}:{record['metric_name']}"
    return hashlib.sha256(repr(sorted(record.items())).encode()).hexdigest()[:16]


def _anomaly_line(record: dict[str, Any]) -> str:
    if {"kpi_date", "metric_name", "metric_value"} <= record.keys():
        line = f"{record['kpi_date']}: {record['metric_name']} = {record['metric_value']}"
        if record.get("anomaly_direction"):
            line += f" ({record['anomaly_direction']}"
            if record.get("baseline_value") is not None:
                line += f", baseline {record['baseline_value']}"
            if record.get("robust_z_score") is not None:
                line += f", z {float(record['robust_z_score']):.1f}"
            line += ")"
        return f"KPI anomaly {line}"
    details = ", ".join(f"{k}={v}" for k, v in record.items() if v is not None)
    return f"KPI anomaly: {details}"


def pending_kpi_anomalies(con, relation: str) -> list[Alert]:
    """KPI anomalies not sent yet (rows with ``is_anomaly`` true when the mart has that flag)."""
    if not relation_exists(con, relation):
        return []
    columns = relation_columns(con, relation)
    where = "WHERE is_anomaly" if "is_anomaly" in columns else ""
    order = "ORDER BY kpi_date" if "kpi_date" in columns else ""
    cursor = con.execute(f"SELECT * FROM {relation} {where} {order}")
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()  # before the next query: a DuckDB connection holds one result
    sent = {
        r[0]
        for r in con.execute(
            f"SELECT alert_key FROM {SENT_ALERTS} WHERE source = 'kpi_anomaly'"
        ).fetchall()
    }
    alerts = []
    for row in rows:
        record = dict(zip(names, row, strict=True))
        key = f"kpi_anomaly:{_anomaly_key(record)}"
        if key not in sent:
            alerts.append(Alert(key=key, source="kpi_anomaly", line=_anomaly_line(record)))
    return alerts


FLAG_SHARE_SOURCE = "rule_flag_share"


def pending_flag_share_warnings(con, relation: str) -> list[Alert]:
    """Days on which a rule flagged more than its ceiling share of the active users (the
    alert-flood guard), not sent yet, oldest first: one data-quality warning per day and rule."""
    if not relation_exists(con, relation):
        return []
    rows = con.execute(
        f"""
        SELECT f.flag_date, f.rule_name, f.flagged_users, f.active_users, f.flagged_share_rate,
               f.flagged_share_ceiling_rate
        FROM {relation} AS f
        WHERE f.is_above_ceiling
          AND NOT EXISTS (
              SELECT 1 FROM {SENT_ALERTS} AS s
              WHERE s.alert_key = '{FLAG_SHARE_SOURCE}:' || CAST(f.flag_date AS VARCHAR)
                  || ':' || f.rule_name
          )
        ORDER BY f.flag_date, f.rule_name
        """
    ).fetchall()
    return [
        Alert(
            key=f"{FLAG_SHARE_SOURCE}:{day}:{rule}",
            source=FLAG_SHARE_SOURCE,
            line=f"Data-quality warning: rule {rule} flagged {flagged:,} of {active:,} active "
            f"users on {day} ({float(share):.1%}, ceiling {float(ceiling):.1%}): "
            "a mis-tuned rule or odd data",
        )
        for day, rule, flagged, active, share, ceiling in rows
    ]


def format_message(alerts: Sequence[Alert]) -> dict[str, str]:
    """One Slack-compatible message for a batch of alerts."""
    data_quality = sum(1 for a in alerts if a.source == "data_quality")
    compliance = sum(1 for a in alerts if a.source == "compliance")
    floods = sum(1 for a in alerts if a.source == FLAG_SHARE_SOURCE)
    anomalies = len(alerts) - compliance - floods - data_quality
    parts = []
    if data_quality:
        parts.append(
            f"{data_quality} new critical data-quality alert{'s' * (data_quality != 1)} "
            "(a broken ledger)"
        )
    if compliance:
        parts.append(f"{compliance} new high-severity compliance alert{'s' * (compliance != 1)}")
    if anomalies:
        parts.append(f"{anomalies} new KPI anomal{'ies' if anomalies != 1 else 'y'}")
    if floods:
        parts.append(f"{floods} rule flag-share warning{'s' * (floods != 1)}")
    header = "*Crypto exchange warehouse: " + " and ".join(parts) + "*"
    return {"text": "\n".join([header, *(f"• {a.line}" for a in alerts)])}


def send_alerts(
    con,
    alerts: Sequence[Alert],
    post: Callable[[dict[str, Any]], None],
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> int:
    """Post ``alerts`` in batches and record each batch once the webhook accepted it.

    Returns how many alerts were sent; a failing post raises after the earlier batches were
    recorded, so the next run sends only what is left.
    """
    ensure_sent_alerts(con)
    sent = 0
    for start in range(0, len(alerts), max(1, batch_size)):
        batch = list(alerts[start : start + batch_size])
        post(format_message(batch))
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        con.executemany(
            f"INSERT INTO {SENT_ALERTS} (alert_key, source, sent_at) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            [(a.key, a.source, now) for a in batch],
        )
        sent += len(batch)
    return sent
