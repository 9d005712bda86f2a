"""Schedules: the hourly incremental run and the daily full build (both UTC).

Both start stopped; turn them on in the UI (Automation) or with
``dagster schedule start -m orchestration.definitions <name>``.
"""

import dagster as dg

from orchestration.jobs import PARTITIONED, daily_full_build_job, hourly_incremental_job
from orchestration.partitions import daily_partitions, partition_key_for

# Dagster's tags for a run over a range of partitions (one run: BackfillPolicy.single_run()).
PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"


@dg.schedule(
    job=hourly_incremental_job,
    cron_schedule="5 * * * *",
    execution_timezone="UTC",
    description="Every hour: the current day partition of the incremental facts, and alerts.",
)
def hourly_incremental_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    moment = context.scheduled_execution_time
    return dg.RunRequest(partition_key=partition_key_for(moment) if PARTITIONED else None)


def full_range_tags(moment) -> dict[str, str]:
    """Tags of one run over every daily partition up to the day of ``moment``."""
    keys = daily_partitions.get_partition_keys(current_time=moment)
    today = partition_key_for(moment)
    last = today if today in keys else keys[-1]
    return {PARTITION_RANGE_START_TAG: keys[0], PARTITION_RANGE_END_TAG: last}


@dg.schedule(
    job=daily_full_build_job,
    cron_schedule="30 1 * * *",
    execution_timezone="UTC",
    description="Every day at 01:30 UTC: the full build over all history, and the daily report.",
)
def daily_full_build_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    moment = context.scheduled_execution_time
    return dg.RunRequest(tags=full_range_tags(moment) if PARTITIONED else {})


SCHEDULES = [hourly_incremental_schedule, daily_full_build_schedule]
