"""The Dagster code location: ``dagster dev -m orchestration.definitions -h 127.0.0.1``.

Merges the small modules: assets (loaders keyed like the dbt sources, dbt models with their
tests as checks, alert notifications, the daily report), checks (Great Expectations gates on
the raw tables, freshness), jobs, schedules, sensors, and the resources they share.
"""

from __future__ import annotations

import dagster as dg

from orchestration.assets import ASSETS
from orchestration.checks import CHECKS
from orchestration.jobs import JOBS
from orchestration.pipeline import PROGRESS_LOGGER, progress_logger
from orchestration.resources import default_resources
from orchestration.schedules import SCHEDULES
from orchestration.sensors import SENSORS

defs = dg.Definitions.merge(
    dg.Definitions(assets=ASSETS),
    dg.Definitions(asset_checks=CHECKS),
    dg.Definitions(jobs=JOBS, schedules=SCHEDULES, sensors=SENSORS),
    dg.Definitions(
        resources=default_resources(),
        executor=dg.in_process_executor,
        # Dagster's console logger; make pipeline's line per step (orchestration/pipeline.py).
        loggers={**dg.default_loggers(), PROGRESS_LOGGER: progress_logger},
    ),
)
