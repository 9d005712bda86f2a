"""Schedules: the hourly incremental run and the daily full build (both UTC).

Both start stopped (a fresh checkout should not rebuild the warehouse every hour on its own);
turn them on in the UI (Automation) or with
``dagster schedule start -m orchestration.definitions <name>`` (docs/deployment.md).

No clock can make them fail: before the first partition (a clock earlier than the data), the
hourly run skips (no day in progress) and the daily build runs with the job's own tags, over
all history.
"""

import dagster as dg

from orchestration.jobs import PARTITIONED, daily_full_build_job, hourly_incremental_job
from orchestration.partitions import (
    PARTITION_RANGE_END_TAG,
    PARTITION_RANGE_START_TAG,
    daily_partitions,
    partition_key_for,
)


@dg.schedule(
    job=hourly_incremental_job,
    cron_schedule="5 * * * *",
    execution_timezone="UTC",
    description="Every hour: the current day partition of the incremental facts, and alerts.",
)
def hourly_incremental_schedule(context: dg.ScheduleEvaluationContext):
    moment = context.scheduled_execution_time
    if not PARTITIONED:
        return dg.RunRequest()
    key = hourly_partition_key(moment)
    if key is None:
        return dg.SkipReason(
            f"{partition_key_for(moment)} is before the first daily partition "
            f"({daily_partitions.get_first_partition_key()}): no day in progress to refresh"
        )
    return dg.RunRequest(partition_key=key)


def hourly_partition_key(moment, partitions_def=daily_partitions) -> str | None:
    """The partition of the day of ``moment``; None for a moment before the first one."""
    key = partition_key_for(moment)
    return key if key >= partitions_def.get_first_partition_key() else None


def full_range_tags(moment, partitions_def=daily_partitions) -> dict[str, str]:
    """Tags of one run over every daily partition up to the day of ``moment``; none when
    ``moment`` is before the first partition (the job's own tags then run all history)."""
    keys = partitions_def.get_partition_keys(current_time=moment)
    if not keys:
        return {}
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
