"""Sensors: new landing files start a load; freshness checks on the loaded tables.

``landing_files_sensor`` scans ``$EXCHANGE_LANDING_DIR/<table>/`` the way the loaders do
(ingestion.loaders.discover_files: ``_``- and ``.``-prefixed names and other formats are
ignored) and asks for a ``load_landing`` run of the tables that have files it has not seen.
Its cursor is the set of files seen (those still in the landing directory, so it stays as
small as the directory). A file younger than ``EXCHANGE_LANDING_SETTLE_SECONDS`` (default 5)
waits for the next tick: it may still be being written.

``landing_files_sensor`` starts RUNNING (a file dropped in the landing directory is loaded
once the daemon runs: ``dagster dev`` or ``dagster-daemon run``); ``landing_freshness_sensor``
starts stopped, as a simulated or archived landing directory is stale by design: turn it on in
the UI or with ``dagster sensor start -m orchestration.definitions landing_freshness_sensor``
(docs/deployment.md).
"""

import hashlib
import json
import time
import warnings
from pathlib import Path

import dagster as dg

from ingestion.contract import TABLES
from orchestration.assets.landing import TABLE_KEYS
from orchestration.checks import expectation_check_keys, landing_freshness_checks
from orchestration.jobs import WAREHOUSE_RUN_TAGS, load_landing_job
from orchestration.resources import LandingResource
from warehouse import settings


def settle_seconds() -> float:
    return settings.current().landing_settle_seconds


def scan_landing(landing_dir: Path, settle: float = 0.0, now: float | None = None) -> list[str]:
    """Landing files of every contract table, as ``<table>/<path>``, settled for ``settle`` s."""
    from ingestion.loaders import discover_files

    now = time.time() if now is None else now
    found = []
    for table in TABLES:
        for path in discover_files(landing_dir, table):
            try:
                if now - path.stat().st_mtime < settle:
                    continue
            except FileNotFoundError:  # moved aside meanwhile
                continue
            found.append(path.relative_to(landing_dir).as_posix())
    return sorted(found)


def new_files_request(present: list[str], cursor: str | None) -> tuple[dg.RunRequest | None, str]:
    """(the run request for files not in ``cursor``, or None; the next cursor)."""
    seen = set(json.loads(cursor)) if cursor else set()
    new = [f for f in present if f not in seen]
    next_cursor = json.dumps(sorted(set(present)))
    if not new:
        return None, next_cursor
    tables = sorted({f.split("/", 1)[0] for f in new}, key=list(TABLES).index)
    run_key = hashlib.sha256("\n".join(new).encode()).hexdigest()[:20]
    keys = [TABLE_KEYS[t] for t in tables]
    request = dg.RunRequest(
        run_key=f"landing-{run_key}",
        asset_selection=keys,
        asset_check_keys=expectation_check_keys(keys),  # the gates; freshness has its sensor
        tags={**WAREHOUSE_RUN_TAGS, "exchange/new_files": str(len(new))},
    )
    return request, next_cursor


@dg.sensor(
    job=load_landing_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts a load when new files appear in the landing directory "
    "($EXCHANGE_LANDING_DIR).",
)
def landing_files_sensor(context: dg.SensorEvaluationContext, landing: LandingResource):
    landing_dir = landing.resolved_path()
    if not landing_dir.is_dir():
        return dg.SkipReason(f"landing directory {landing_dir} does not exist")
    present = scan_landing(landing_dir, settle_seconds())
    request, cursor = new_files_request(present, context.cursor)
    if request is None:
        return dg.SensorResult(skip_reason=dg.SkipReason("no new landing files"), cursor=cursor)
    context.log.info(f"new files: {request.tags['exchange/new_files']}")
    return dg.SensorResult(run_requests=[request], cursor=cursor)


with warnings.catch_warnings():  # superseded like the checks themselves: see checks.py
    warnings.simplefilter("ignore", category=dg.SupersessionWarning)
    landing_freshness_sensor = dg.build_sensor_for_freshness_checks(
        freshness_checks=landing_freshness_checks, name="landing_freshness_sensor"
    )

SENSORS = [landing_files_sensor, landing_freshness_sensor]
