"""Jobs: load new landing files; the hourly incremental run; the daily full build.

Every job runs its steps in one process, one after another (``in_process_executor`` in
definitions.py): the warehouse has one writer at a time anyway, and a step process would cost
seconds of imports. Runs are tagged ``exchange/warehouse=writer``; orchestration/dagster.yaml
limits the run queue to one such run at a time. The warehouse lock (resources.py) holds
whatever starts the run.

Every job runs from the command line (docs/deployment.md), with or without a partition::

    dagster job execute -m orchestration.definitions -j daily_full_build
    dagster job execute -m orchestration.definitions -j hourly_incremental \
        --tags '{"dagster/partition": "2026-10-31"}'

Without partition tags, ``daily_full_build`` runs over every partition (all history: its own
tags, computed when the code location loads) and ``hourly_incremental`` over today's
partition. Tags given at launch (a schedule's, ``--tags``) replace them: for the daily build
a range, ``{"dagster/asset_partition_range_start": "<day>",
"dagster/asset_partition_range_end": "<day>"}``.
"""

from __future__ import annotations

import dagster as dg

from orchestration.assets import alert_notifications, dbt_incremental_models, landing_tables
from orchestration.checks import landing_freshness_checks
from orchestration.partitions import all_history_tags, daily_partitions

WAREHOUSE_RUN_TAGS = {"exchange/warehouse": "writer"}
PARTITIONED = dbt_incremental_models is not None
# Freshness is judged by its own sensor, not in the middle of a run that is about to load.
_FRESHNESS = dg.AssetSelection.checks(*landing_freshness_checks)

load_landing_job = dg.define_asset_job(
    "load_landing",
    selection=dg.AssetSelection.assets(landing_tables) - _FRESHNESS,
    description="Load new landing files into the raw tables, then run the Great Expectations "
    "gates on them. Started by landing_files_sensor for the tables with new files.",
    tags=WAREHOUSE_RUN_TAGS,
)

_hourly_targets = dg.AssetSelection.assets(alert_notifications)
if dbt_incremental_models is not None:
    _hourly_targets = _hourly_targets | dg.AssetSelection.assets(dbt_incremental_models)

hourly_incremental_job = dg.define_asset_job(
    "hourly_incremental",
    selection=_hourly_targets.upstream() - _FRESHNESS,
    description="The day in progress: load new files, rebuild the incremental facts for the "
    "current day partition (with what they depend on) and post new alerts. Without a "
    "partition: today's.",
    tags=WAREHOUSE_RUN_TAGS,
    run_tags={
        **WAREHOUSE_RUN_TAGS,
        **({"dagster/partition": daily_partitions.get_last_partition_key()} if PARTITIONED else {}),
    },
)

daily_full_build_job = dg.define_asset_job(
    "daily_full_build",
    selection=dg.AssetSelection.all() - _FRESHNESS,
    description="Everything: load, every dbt model, seed, snapshot and test over all history "
    "(the incremental facts over every partition, in one dbt invocation), alerts, and the "
    "daily report. Without partition tags: every partition.",
    tags=WAREHOUSE_RUN_TAGS,
    run_tags={**WAREHOUSE_RUN_TAGS, **(all_history_tags() if PARTITIONED else {})},
)

JOBS = [load_landing_job, hourly_incremental_job, daily_full_build_job]
