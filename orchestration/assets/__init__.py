"""The assets of the code location: loaders, dbt, alert notifications, the daily report."""

from orchestration.assets.airbyte import AIRBYTE_CONNECTIONS, airbyte_syncs, without_airbyte_tables
from orchestration.assets.alerts import ALERTS_KEY, alert_notifications
from orchestration.assets.dbt import (
    DBT_ASSETS,
    dbt_incremental_models,
    dbt_models,
    dbt_upstream_models,
)
from orchestration.assets.landing import LANDING_KEYS, TABLE_KEYS, landing_tables
from orchestration.assets.predictions import (
    PREDICTIONS_KEY,
    churn_model_evaluation,
    churn_predictions,
    revenue_forecast,
)
from orchestration.assets.report import REPORT_KEY, daily_report

# Tables synced by Airbyte (docs/airbyte.md) are the sync's assets, not the file loader's.
ASSETS = [
    without_airbyte_tables(landing_tables, AIRBYTE_CONNECTIONS),
    *DBT_ASSETS,
    churn_predictions,
    churn_model_evaluation,
    revenue_forecast,
    alert_notifications,
    daily_report,
    *([airbyte_syncs] if airbyte_syncs else []),
]

__all__ = [
    "ALERTS_KEY",
    "ASSETS",
    "DBT_ASSETS",
    "LANDING_KEYS",
    "PREDICTIONS_KEY",
    "REPORT_KEY",
    "TABLE_KEYS",
    "alert_notifications",
    "churn_predictions",
    "daily_report",
    "dbt_incremental_models",
    "dbt_models",
    "dbt_upstream_models",
    "landing_tables",
]
