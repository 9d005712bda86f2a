"""Benchmark stages that run inside a child process (so their time and memory are measured
like the simulator's, the loader's and dbt's): ``python -m benchmarks.stages <stage> ...``.

Each prints one JSON object on stdout.

* ``load-floor``: DuckDB reading the landing files straight into tables (the loader's floor).
* ``kpi-floor``: ``kpi_floor.sql`` (the daily KPI table straight from raw) on a read-only
  connection, then its agreement with ``marts.fct_daily_exchange_kpis``.
* ``dashboard``: the dashboard queries of ``dashboard.py`` on a read-only connection, each
  run several times: median and slowest.
* ``dagster``: the dbt assets materialized in process by Dagster (``dagster.materialize``, the
  code location's own assets and resources, an ephemeral instance), on the warehouse of
  ``EXCHANGE_WAREHOUSE``: ``--mode full``, every dbt asset over every daily partition (what the
  daily full build job runs of dbt), or ``--mode day --partition D``, the day's partition of
  the incremental facts with the dbt assets upstream of them (what the hourly job runs of dbt).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

import duckdb

from warehouse import Limits, open_warehouse

from .dashboard import DASHBOARD_QUERIES

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
KPI_FLOOR_SQL = HERE / "kpi_floor.sql"
# Columns compared between the floor and the mart; counts must match exactly, USD and ratios
# within a relative tolerance (float sums in another order).
KPI_EXACT = (
    "active_traders",
    "trade_count",
    "orders_placed",
    "orders_executed",
    "new_registrations",
    "kyc_approvals",
    "first_time_traders",
    "traders_to_date",
    "active_traders_30d",
    "churned_traders",
)
KPI_APPROX = (
    "trading_volume_usd",
    "trading_fee_revenue_usd",
    "withdrawal_fee_revenue_usd",
    "revenue_usd",
    "revenue_per_trade_usd",
    "fill_rate",
    "churn_rate",
)
RELATIVE_TOLERANCE = 1e-6


def _read_only(warehouse: Path, memory_limit: str | None):
    return open_warehouse(
        warehouse, read_only=True, limits=Limits.from_env(memory_limit=memory_limit)
    )


def load_floor(landing: Path, database: Path, memory_limit: str) -> dict:
    from ingestion.contract import TABLES
    from ingestion.loaders import LoaderSettings
    from ingestion.loaders.benchmark import plain_duckdb_read
    from ingestion.loaders.files import discover_files

    tables = [t for t in TABLES if discover_files(landing, t)]
    settings = LoaderSettings.from_env(memory_limit=memory_limit)
    started = time.perf_counter()
    rows = plain_duckdb_read(landing, tables, database, settings)
    return {"rows": rows, "seconds": time.perf_counter() - started}


def kpi_floor(warehouse: Path, memory_limit: str | None) -> dict:
    sql = KPI_FLOOR_SQL.read_text().replace("{seeds}", str(REPO / "seeds"))
    with _read_only(warehouse, memory_limit) as con:
        started = time.perf_counter()
        con.execute(sql)
        seconds = time.perf_counter() - started
        days = con.execute("select count(*) from floor_daily_kpis").fetchone()[0]
        return {"seconds": seconds, "days": days, "agreement": kpi_agreement(con)}


def kpi_agreement(con: duckdb.DuckDBPyConnection) -> dict:
    """Day by day, how the floor's KPI columns compare with the mart's."""
    exists = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'marts' and table_name = 'fct_daily_exchange_kpis'"
    ).fetchone()[0]
    if not exists:
        return {"compared": False, "reason": "marts.fct_daily_exchange_kpis does not exist"}
    columns = [*KPI_EXACT, *KPI_APPROX]
    select = ", ".join(f"f.{c}, m.{c}" for c in columns)
    rows = con.execute(
        f"select f.kpi_date is not null, m.kpi_date is not null, {select} "
        "from floor_daily_kpis as f full join marts.fct_daily_exchange_kpis as m "
        "on f.kpi_date = m.kpi_date"
    ).fetchall()
    only_floor = sum(1 for r in rows if r[0] and not r[1])
    only_mart = sum(1 for r in rows if r[1] and not r[0])
    mismatched: dict[str, int] = {}
    worst_relative: dict[str, float] = {}
    both = [r for r in rows if r[0] and r[1]]
    for i, column in enumerate(columns):
        floor_values = [r[2 + 2 * i] for r in both]
        mart_values = [r[3 + 2 * i] for r in both]
        bad, worst = 0, 0.0
        for a, b in zip(floor_values, mart_values, strict=True):
            if a is None or b is None:
                bad += (a is None) != (b is None)
                continue
            a, b = float(a), float(b)
            relative = abs(a - b) / max(abs(a), abs(b), 1e-12)
            worst = max(worst, relative if math.isfinite(relative) else math.inf)
            if column in KPI_EXACT and a != b or relative > RELATIVE_TOLERANCE:
                bad += 1
        mismatched[column] = bad
        worst_relative[column] = worst
    return {
        "compared": True,
        "days_both": len(both),
        "days_only_in_floor": only_floor,
        "days_only_in_mart": only_mart,
        "mismatched_days_by_column": {c: n for c, n in mismatched.items() if n},
        "worst_relative_difference": max(worst_relative.values(), default=0.0),
        "agrees": only_floor == 0 and only_mart == 0 and not any(mismatched.values()),
    }


def dashboard(warehouse: Path, repeat: int, memory_limit: str | None) -> dict:
    results = {}
    with _read_only(warehouse, memory_limit) as con:
        for name, sql in DASHBOARD_QUERIES.items():
            times, rows = [], 0
            for _ in range(max(1, repeat)):
                started = time.perf_counter()
                rows = len(con.execute(sql).fetchall())
                times.append(time.perf_counter() - started)
            results[name] = {
                "median_ms": statistics.median(times) * 1000,
                "max_ms": max(times) * 1000,
                "first_ms": times[0] * 1000,
                "rows": rows,
            }
    return {"queries": results, "repeat": repeat}


def dagster_materialize(mode: str, partition: str | None) -> dict:
    import dagster as dg

    from orchestration.assets.dbt import (
        DBT_ASSETS,
        PARTITION_RANGE_END_TAG,
        PARTITION_RANGE_START_TAG,
        dbt_incremental_models,
        dbt_upstream_models,
    )
    from orchestration.partitions import daily_partitions
    from orchestration.resources import default_resources

    imported = time.perf_counter()
    if mode == "full":
        keys = daily_partitions.get_partition_keys()
        tags = (
            {PARTITION_RANGE_START_TAG: keys[0], PARTITION_RANGE_END_TAG: keys[-1]}
            if dbt_incremental_models is not None
            else {}
        )
        result = dg.materialize(
            DBT_ASSETS, resources=default_resources(), tags=tags, raise_on_error=False
        )
    else:
        if dbt_incremental_models is None or dbt_upstream_models is None:
            raise SystemExit("no daily-partitioned dbt models (tag daily_partitioned)")
        result = dg.materialize(
            [dbt_upstream_models, dbt_incremental_models],
            resources=default_resources(),
            partition_key=partition,
            raise_on_error=False,
        )
    seconds = time.perf_counter() - imported
    checks: dict[str, int] = {}
    for event in result.get_asset_check_evaluations():
        outcome = "passed" if event.passed else str(event.severity.value).lower()
        checks[outcome] = checks.get(outcome, 0) + 1
    summary = {
        "mode": mode,
        "partition": partition,
        "success": result.success,
        "seconds": seconds,
        "assets_materialized": len(
            {event.asset_key for event in result.get_asset_materialization_events()}
        ),
        "checks": checks,
    }
    if not result.success:
        print(json.dumps(summary), file=sys.stderr)
        raise SystemExit("the Dagster run failed")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stages")
    sub = parser.add_subparsers(dest="stage", required=True)
    p = sub.add_parser("load-floor")
    p.add_argument("--landing", type=Path, required=True)
    p.add_argument("--database", type=Path, required=True)
    p.add_argument("--memory-limit", required=True)
    for name in ("kpi-floor", "dashboard"):
        p = sub.add_parser(name)
        p.add_argument("--warehouse", type=Path, required=True)
        p.add_argument("--memory-limit", default=None)
        if name == "dashboard":
            p.add_argument("--repeat", type=int, default=5)
    p = sub.add_parser("dagster")
    p.add_argument("--mode", choices=("full", "day"), required=True)
    p.add_argument("--partition", default=None, help="the day's partition key (--mode day)")
    args = parser.parse_args(argv)
    if args.stage == "dagster":
        result = dagster_materialize(args.mode, args.partition)
    elif args.stage == "load-floor":
        result = load_floor(args.landing, args.database, args.memory_limit)
    elif args.stage == "kpi-floor":
        result = kpi_floor(args.warehouse, args.memory_limit)
    else:
        result = dashboard(args.warehouse, args.repeat, args.memory_limit)
    json.dump(result, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
