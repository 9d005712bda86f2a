"""Alert notifications: new high-severity compliance alerts, KPI anomalies and rule flag-share
(alert-flood) warnings -> the webhook.

An asset downstream of the marts it reads (those the dbt project has), run by the hourly and
the daily jobs after dbt. The sending itself, and "each alert exactly once", live in
orchestration/alerts.py. Without ``EXCHANGE_ALERT_WEBHOOK_URL`` nothing is sent and nothing is
marked as sent: the pending alerts go out once a webhook is configured.
"""

import dagster as dg

from orchestration import alerts
from orchestration.assets.dbt import MANIFEST, node_asset_key, node_relation
from orchestration.resources import AlertWebhookResource, WarehouseResource

ALERTS_KEY = dg.AssetKey(["ops", "alert_notifications"])
COMPLIANCE_MART = "fct_compliance_alerts"
FLAG_SHARE_MART = "fct_compliance_rule_flag_share_daily"


def kpi_anomaly_mart() -> str | None:
    """The KPI anomaly mart when the project has one (a model named like ``*kpi*anomal*``)."""
    names = sorted(
        node["name"]
        for node in MANIFEST["nodes"].values()
        if node["resource_type"] == "model"
        and "anomal" in node["name"]
        and node["name"].startswith(("fct_", "rpt_"))
    )
    return names[0] if names else None


# The marts read, by the relation dbt builds them as; the compliance mart is looked for even
# before the project has it (a missing table is skipped).
ALERT_MARTS = {
    "compliance": COMPLIANCE_MART,
    "kpi_anomaly": kpi_anomaly_mart(),
    "rule_flag_share": FLAG_SHARE_MART,
}
ALERT_RELATIONS = {
    source: (node_relation(name) or f"marts.{name}") if name else None
    for source, name in ALERT_MARTS.items()
}


@dg.asset(
    key=ALERTS_KEY,
    deps=[key for key in (node_asset_key(n) for n in ALERT_MARTS.values() if n) if key],
    group_name="ops",
    kinds={"python", "slack"},
    description="Posts new high-severity compliance alerts, KPI anomalies and rule flag-share "
    "warnings (a rule flagging too many users: alert-flood guard) to the webhook "
    "($EXCHANGE_ALERT_WEBHOOK_URL) as Slack-compatible JSON, each alert exactly once "
    "(sent alerts are remembered in ops.sent_alerts).",
)
def alert_notifications(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    alert_webhook: AlertWebhookResource,
) -> dg.MaterializeResult:
    url = alert_webhook.resolved_url()
    with warehouse.connect() as con:
        alerts.ensure_sent_alerts(con)
        pending: list[alerts.Alert] = []
        if ALERT_RELATIONS["compliance"]:
            pending += alerts.pending_compliance_alerts(con, ALERT_RELATIONS["compliance"])
        if ALERT_RELATIONS["kpi_anomaly"]:
            pending += alerts.pending_kpi_anomalies(con, ALERT_RELATIONS["kpi_anomaly"])
        pending += alerts.pending_flag_share_warnings(con, ALERT_RELATIONS["rule_flag_share"])
        if not url:
            if pending:
                context.log.warning(
                    f"{len(pending)} alerts pending, not sent: "
                    "EXCHANGE_ALERT_WEBHOOK_URL is not set"
                )
            sent = 0
        else:
            sent = alerts.send_alerts(con, pending, alert_webhook.post)
        total_sent = con.execute(f"SELECT count(*) FROM {alerts.SENT_ALERTS}").fetchone()[0]
    context.log.info(f"{sent} alerts sent, {len(pending) - sent} pending")
    return dg.MaterializeResult(
        metadata={
            "alerts_sent": sent,
            "alerts_pending": len(pending) - sent,
            "alerts_sent_to_date": int(total_sent),
            "webhook_configured": bool(url),
            "sources": ", ".join(v for v in ALERT_RELATIONS.values() if v),
        }
    )
