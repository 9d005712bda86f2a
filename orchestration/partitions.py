"""Daily partitions of the incremental facts, and the dbt vars a partition window becomes.

A run of one partition (or of a range, in ONE run: the dbt assets use
``BackfillPolicy.single_run()``) passes its window to dbt as
``--vars '{"min_date": "<first day>", "max_date": "<day after the last>"}'``: ``min_date`` is
inclusive and ``max_date`` exclusive, so the incremental models take the rows with
``min_date <= event time < max_date`` (plus their lookback). The project's defaults
(1970-01-01, 2999-12-31) cover all history, so a plain ``dbt build`` builds everything.

Days are UTC. The first partition is :func:`partitions_start`: the setting
``EXCHANGE_PARTITIONS_START`` (``YYYY-MM-DD``) when set, else the first day of the data (the
earliest event time of the orders and trades in the raw tables of the warehouse, else in the
landing files), else, with
no data at all, today. The start is read when the code location loads; a deployment sets the
variable so that the partitions stay put (docs/deployment.md). The last partition is today
(``end_offset=1``), so the hourly run can refresh the day in progress. The partitions
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
import logging
from pathlib import Path

import dagster as dg

from warehouse import settings

PARTITIONS_START_VARIABLE = "EXCHANGE_PARTITIONS_START"
# Dagster's tags for a run over a range of partitions (one run: BackfillPolicy.single_run()).
PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"
DATE_FORMAT = "%Y-%m-%d"

# The tables whose first event day is the first day of history: the trading activity (orders
# and the fills they produce), the day dim_dates calls the start of trading. Older rows of other
# tables (accounts, reference data, deposits before the first trade) fall in the first
# partition, which holds everything older. Every partition adds a materialization event per
# incremental model to each full-history run, so the start is not earlier than it need be.
EVENT_TABLES = ("orders", "trades")

log = logging.getLogger(__name__)


def configured_partitions_start() -> dt.date | None:
    """``EXCHANGE_PARTITIONS_START`` as a date; None when unset. A value that is not a
    ``YYYY-MM-DD`` date raises SettingsError (a ValueError) naming the variable."""
    return settings.current().partitions_start


def _as_date(value) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return (value.astimezone(dt.UTC) if value.tzinfo else value).date()
    return value


def first_raw_event_day(warehouse: Path) -> dt.date | None:
    """The earliest event day of :data:`EVENT_TABLES` in the raw tables of ``warehouse``
    (read-only; None when the file, the tables or their rows are missing, or a writer holds
    the file)."""
    import duckdb

    from ingestion.contract import TABLES
    from warehouse import open_warehouse
    from warehouse.raw_schema import RAW_SCHEMA

    if not warehouse.is_file():
        return None
    try:
        with open_warehouse(warehouse, read_only=True) as con:
            present = {
                name
                for (name,) in con.execute(
                    "select table_name from duckdb_tables() where schema_name = ? "
                    "and database_name = current_database()",
                    [RAW_SCHEMA],
                ).fetchall()
            }
            days = []
            for table in (TABLES[name] for name in EVENT_TABLES):
                if table.name not in present:
                    continue
                (first,) = con.execute(
                    f'select min(try_cast("{table.event_time}" as timestamptz)) '
                    f'from {RAW_SCHEMA}."{table.name}"'
                ).fetchone()
                if first is not None:
                    days.append(_as_date(first))
    except duckdb.Error as error:  # a writer holds it: the landing files answer instead
        log.info(f"partitions start: warehouse {warehouse} not readable now ({error})")
        return None
    return min(days) if days else None


def first_landed_event_day(landing: Path) -> dt.date | None:
    """The earliest event day of :data:`EVENT_TABLES` in the landing files (every file the
    loaders would read); None without readable files. Files that do not read are skipped:
    the loaders report them."""
    from ingestion.contract import TABLES
    from ingestion.loaders import discover_files
    from ingestion.loaders.readers import open_source
    from warehouse import open_scratch

    if not landing.is_dir():
        return None
    days = []
    with open_scratch() as con:
        for table in (TABLES[name] for name in EVENT_TABLES):
            for path in discover_files(landing, table.name):
                try:
                    source = open_source(con, path)
                    if table.event_time not in {c.name for c in source.columns}:
                        continue
                    (first,) = con.execute(
                        f'select min(try_cast("{table.event_time}" as timestamptz)) '
                        f"from {source.relation}"
                    ).fetchone()
                except Exception as error:  # noqa: BLE001 - the loaders report unreadable files
                    log.debug(f"partitions start: skipped {path}: {error}")
                    continue
                if first is not None:
                    days.append(_as_date(first))
    return min(days) if days else None


def partitions_start(today: dt.date | None = None) -> str:
    """The first daily partition: the setting, else the first day of the data, else today.

    A start derived from data never lies after ``today`` (a clock behind the data): the first
    partition holds everything older and the last everything newer, so nothing falls outside.
    """
    from orchestration.dbt_project import PROJECT_DIR
    from warehouse import settings

    configured = configured_partitions_start()
    if configured is not None:
        return configured.strftime(DATE_FORMAT)

    def project_path(path: Path) -> Path:
        return path if path.is_absolute() else PROJECT_DIR / path

    today = today or dt.datetime.now(dt.UTC).date()
    current = settings.current()
    first = first_raw_event_day(project_path(current.warehouse)) or first_landed_event_day(
        project_path(current.landing_dir)
    )
    return min(first or today, today).strftime(DATE_FORMAT)


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


def all_history_tags(
    partitions_def: dg.TimeWindowPartitionsDefinition = daily_partitions,
    current_time: dt.datetime | None = None,
) -> dict[str, str]:
    """Tags of one run over every partition (the first holds everything older, the last
    everything newer: all history); none when there is no partition yet at ``current_time``."""
    keys = partitions_def.get_partition_keys(current_time=current_time)
    if not keys:
        return {}
    return {PARTITION_RANGE_START_TAG: keys[0], PARTITION_RANGE_END_TAG: keys[-1]}
