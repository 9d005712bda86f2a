"""Daily partitions of the incremental facts, and the dbt vars a partition window becomes.

A run of one partition (or of a range, in ONE run: the dbt assets use
``BackfillPolicy.single_run()``) passes its window to dbt as
``--vars '{"min_date": "<first day>", "max_date": "<day after the last>"}'``: ``min_date`` is
inclusive and ``max_date`` exclusive, so the incremental models take the rows with
``min_date <= event time < max_date`` (plus their lookback). The project's defaults
(1970-01-01, 2999-12-31) cover all history, so a plain ``dbt build`` builds everything.

Days are UTC. The first partition is ``EXCHANGE_PARTITIONS_START`` (default below: the
simulator's scales end on 2026-10-31 and the longest spans 90 days); the last
is today (``end_offset=1``), so the hourly run can refresh the day in progress. The partitions
cover the whole time axis: the first one also holds everything older, the last everything
newer, so a window that starts at the first partition has no ``min_date`` and one that ends
with the last has no ``max_date`` (dbt then uses the defaults). A run over every partition (the
daily full build) is therefore a plain full ``dbt build``.

The data tests of a run over some of the partitions (the hourly run of the day in progress, a
backfill) check the rows of that many days only: every dbt step of such a run gets the var
``test_days`` (macros/test_window.sql), the number of days in the run's range. The window is
counted back from each model's newest row, so it is the run's own days when the range ends at
the newest data (the day in progress, a catch-up); a backfill of older days tests the last N
days instead, and its own days are tested by the next daily full build. A run over every
partition (the daily full build) sets no ``test_days``: its tests read all history.
"""

from __future__ import annotations

import datetime as dt
import json
import os

import dagster as dg

DEFAULT_PARTITIONS_START = "2026-08-01"
DATE_FORMAT = "%Y-%m-%d"


def partitions_start() -> str:
    return os.environ.get("EXCHANGE_PARTITIONS_START") or DEFAULT_PARTITIONS_START


daily_partitions = dg.DailyPartitionsDefinition(
    start_date=partitions_start(), timezone="UTC", end_offset=1, fmt=DATE_FORMAT
)


def dbt_vars_for_window(start: dt.datetime | dt.date, end: dt.datetime | dt.date) -> dict[str, str]:
    """The dbt vars of a time window ``[start, end)`` (Dagster's windows end exclusive)."""
    return {"min_date": start.strftime(DATE_FORMAT), "max_date": end.strftime(DATE_FORMAT)}


def dbt_vars_for_partition_keys(first_key: str, last_key: str) -> dict[str, str]:
    """The dbt vars of the daily partitions ``first_key`` .. ``last_key`` (both included)."""
    start = dt.datetime.strptime(first_key, DATE_FORMAT)
    end = dt.datetime.strptime(last_key, DATE_FORMAT) + dt.timedelta(days=1)
    return dbt_vars_for_window(start, end)


def dbt_vars_for_partition_range(
    first_key: str,
    last_key: str,
    partitions_def: dg.TimeWindowPartitionsDefinition = daily_partitions,
    current_time: dt.datetime | None = None,
) -> dict[str, str]:
    """The dbt vars of a run over ``first_key`` .. ``last_key``, open-ended at the edges
    (the first partition, and today's: the last one, as ``end_offset=1``)."""
    dbt_vars = dbt_vars_for_partition_keys(first_key, last_key)
    if first_key <= partitions_def.get_first_partition_key():
        del dbt_vars["min_date"]
    if last_key >= partition_key_for(current_time or dt.datetime.now(dt.UTC)):
        del dbt_vars["max_date"]
    return dbt_vars


def dbt_test_vars_for_partition_range(
    first_key: str,
    last_key: str,
    partitions_def: dg.TimeWindowPartitionsDefinition = daily_partitions,
    current_time: dt.datetime | None = None,
) -> dict[str, int]:
    """``{"test_days": N}`` for a run over ``first_key`` .. ``last_key`` (N days), or nothing
    for a run over every partition (no window: tests read all history)."""
    if not dbt_vars_for_partition_range(first_key, last_key, partitions_def, current_time):
        return {}
    first = dt.datetime.strptime(first_key, DATE_FORMAT)
    last = dt.datetime.strptime(last_key, DATE_FORMAT)
    return {"test_days": max(1, (last - first).days + 1)}


def dbt_vars_arg(dbt_vars: dict[str, object]) -> list[str]:
    """``--vars`` and its JSON, as dbt's command line wants them."""
    return ["--vars", json.dumps(dbt_vars, sort_keys=True)]


def partition_key_for(moment: dt.datetime) -> str:
    """The daily partition that holds ``moment`` (UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.strftime(DATE_FORMAT)
