"""Incremental builds equal a full refresh (docs/reliability.md#late-data), late rows and later
versions included.

The tiny exchange arrives in four deliveries (the simulator's `--until`), each loaded and built
incrementally:

1. the first three days: the first build;
2. two more days: new orders, later versions of earlier orders (pending -> filled/cancelled)
   and KYC rows (pending -> approved), malformed rows; the simulator holds back the last 40
   fills of the late day and their fee collections;
3. one more day, with the late file: those fills arrive two days after their event time, and
   a replay of rows already loaded. No build follows this load;
4. one more day, and a backfill of that day alone (vars `min_date`/`max_date`, what Dagster
   passes a run over a range of partitions) before the plain run: the window's rows are newer
   than the late file's, and the backfill must not move the watermark past the rows of step 3
   (macros/incremental.sql, `incremental_window`).

`lookback_hours` is 0 so the incremental models read only rows loaded since their last build
(the loads of a test run are seconds apart: the default 2-hour lookback would re-read all).
After the last delivery the whole project runs incrementally; a copy of the same warehouse is
rebuilt with `--full-refresh`, and every table and view of the marts schema must be identical.
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path

import duckdb
import pytest

from tests.python.conftest import dbt, project_env, run

DELIVERIES = ["2026-10-24", "2026-10-26", "2026-10-27", "2026-10-28"]
# The incremental facts, their marts and everything they read.
FACTS = [
    "+fct_trades",
    "+fct_orders",
    "+fct_transactions",
    "+fct_fee_collections",
    "+fct_daily_exchange_kpis",
]
# The same vars on every run: a change of vars makes dbt parse the project again.
VARS = ["--vars", "{lookback_hours: 0}"]
# Step 4's backfill of its last day, as Dagster runs it: the models upstream of the partitioned
# facts unpartitioned, then the facts with the window.
BACKFILL = ["--vars", "{lookback_hours: 0, min_date: '2026-10-28', max_date: '2026-10-29'}"]
# Floats (sums of doubles, in another order after an incremental run) are compared on a grid
# of 1e-6 whose cell edges sit 0.377 of a cell off the decimal values: the amounts have 8
# decimals, so a value exactly half-way at the 7th decimal is common and a plain round() of
# two sums differing in the last bit could fall on both sides of it.
FLOAT_GRID = "floor({column} * 1000000 + 0.377)"

pytestmark = pytest.mark.slow


def _simulate(landing: Path, until: str) -> None:
    run(
        [
            sys.executable,
            "-m",
            "simulator",
            "--scale",
            "tiny",
            "--out",
            str(landing),
            "--until",
            until,
            "--quiet",
        ],
        project_env(landing.parent, landing.parent / "unused.duckdb"),
    )


def _load(landing: Path, env: dict) -> None:
    run(
        [
            sys.executable,
            "-m",
            "ingestion.loaders",
            "--quiet",
            "--landing",
            str(landing),
            "--warehouse",
            env["EXCHANGE_WAREHOUSE"],
        ],
        env,
    )


def _query(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _planted_ids(landing: Path, rule: str, table: str) -> list[str]:
    with open(landing / "_simulator" / "planted_cases.csv", newline="") as f:
        for case in csv.DictReader(f):
            if case["rule"] == rule and case["table_name"] == table:
                return case["reference_ids"].split(";")
    raise AssertionError(f"no planted {rule} case for {table}")


def _run_history_marts(target_path: Path) -> set[str]:
    """The marts built from the pipeline's own run history (dbt run results, source `ops`):
    they describe the builds themselves, so two builds differ there by design."""
    manifest = json.loads((target_path / "manifest.json").read_text())
    parents = manifest["parent_map"]
    marts = set()
    for unique_id, node in manifest["nodes"].items():
        if node["resource_type"] != "model" or node["schema"] != "marts":
            continue
        seen, todo = set(), [unique_id]
        while todo:
            for parent in parents.get(todo.pop(), []):
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        if any(p.startswith("source.crypto_exchange.ops.") for p in seen):
            marts.add(node["alias"])
    return marts


def _mart_differences(
    incremental: Path, full: Path, schema: str = "marts"
) -> dict[str, tuple[int, int]]:
    """Per relation of ``schema``: (rows only in the incremental build, rows only in the full
    one), as multisets (EXCEPT ALL), floats rounded; relations missing on one side are
    reported."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{incremental}' as incremental_build (read_only)")
        con.execute(f"attach '{full}' as full_build (read_only)")

        def relations(database: str) -> set[str]:
            return {
                name
                for (name,) in con.execute(
                    "select table_name from duckdb_tables() "
                    "where database_name = ? and schema_name = ? "
                    "union select view_name from duckdb_views() "
                    "where database_name = ? and schema_name = ?",
                    [database, schema, database, schema],
                ).fetchall()
            }

        inc_relations, full_relations = relations("incremental_build"), relations("full_build")
        assert inc_relations == full_relations, f"the two builds have different {schema}"
        assert len(inc_relations) >= 10, sorted(inc_relations)
        differences = {}
        for name in sorted(inc_relations):
            columns = con.execute(
                "select column_name, data_type from duckdb_columns() "
                "where database_name = 'full_build' and schema_name = ? "
                "and table_name = ? order by column_index",
                [schema, name],
            ).fetchall()
            select = ", ".join(
                FLOAT_GRID.format(column=f'cast("{column}" as double)')
                # money is DECIMAL(38, 9) cast from float sums: the 9th decimal can round
                # either way when the two builds add in another order
                if data_type in ("DOUBLE", "FLOAT") or data_type.startswith("DECIMAL")
                else f'"{column}"'
                for column, data_type in columns
            )
            only = []
            for left, right in (
                ("incremental_build", "full_build"),
                ("full_build", "incremental_build"),
            ):
                only.append(
                    con.execute(
                        f"select count(*) from (select {select} from {left}.{schema}.{name} "
                        f"except all select {select} from {right}.{schema}.{name})"
                    ).fetchone()[0]
                )
            differences[name] = tuple(only)
        return differences
    finally:
        con.close()


def test_incremental_builds_equal_a_full_refresh(tmp_path):
    landing = tmp_path / "landing"
    warehouse = tmp_path / "incremental.duckdb"
    env = project_env(tmp_path, warehouse)

    # 1. The first delivery and the first build.
    _simulate(landing, DELIVERIES[0])
    _load(landing, env)
    dbt(["seed", *VARS], env)
    dbt(["run", "--select", *FACTS, *VARS], env)
    first_orders = dict(_query(warehouse, "select order_id, order_status from marts.fct_orders"))
    first_kyc = dict(
        _query(warehouse, "select user_id, verification_status from staging.stg_exchange__user_kyc")
    )

    # 2. Two more days, with later versions of orders and KYC rows.
    _simulate(landing, DELIVERIES[1])
    _load(landing, env)
    dbt(["run", "--select", *FACTS, *VARS], env)
    # 3. The late file (fills two days old) and a replay; then the whole project.
    _simulate(landing, DELIVERIES[2])
    late_fill_ids = _planted_ids(landing, "late_file", "trades")
    late_fee_ids = _planted_ids(landing, "late_file", "fee_collections")
    late_ids = ", ".join(f"'{i}'" for i in late_fill_ids)
    assert _query(
        warehouse, f"select count(*) from marts.fct_trades where trade_id in ({late_ids})"
    ) == [(0,)], "the late fills are not delivered yet"
    (late_file,) = (landing / "trades").glob("*_late.parquet")
    con = duckdb.connect()
    late_date = con.execute(
        f"select distinct cast(executed_at as date) from read_parquet('{late_file}')"
    ).fetchall()
    con.close()
    assert len(late_date) == 1
    late_date = late_date[0][0]
    assert late_date < max(
        d for (d,) in _query(warehouse, "select executed_date from marts.fct_trades")
    )
    ((built_through,),) = _query(
        warehouse, "select max(loaded_at) from intermediate.int_trades_valued"
    )
    ((late_day_fills_before,),) = _query(
        warehouse,
        "select trade_count from marts.fct_daily_exchange_kpis "
        f"where kpi_date = date '{late_date}'",
    )
    _load(landing, env)
    # 4. The next day, loaded and backfilled by event time before any plain run.
    _simulate(landing, DELIVERIES[3])
    _load(landing, env)
    upstream = ["--select", "+tag:daily_partitioned", "--exclude", "tag:daily_partitioned"]
    dbt(["run", *upstream, *VARS], env)
    dbt(["run", "--select", "tag:daily_partitioned", *BACKFILL], env)
    dbt(["run", *VARS], env)

    # The late fills are in fct_trades, counted on their own day, in fct_orders' fill counts.
    late_rows = _query(
        warehouse,
        f"select trade_id, executed_date, loaded_at from intermediate.int_trades_valued "
        f"where trade_id in ({late_ids})",
    )
    assert len(late_rows) == len(late_fill_ids) == 40
    assert {row[1] for row in late_rows} == {late_date}
    assert min(row[2] for row in late_rows) > built_through, "loaded after the last build"
    ((late_day_fills_after, fills_in_fct_trades),) = _query(
        warehouse,
        f"select k.trade_count, (select count(*) from marts.fct_trades "
        f"where executed_date = date '{late_date}') "
        f"from marts.fct_daily_exchange_kpis as k where k.kpi_date = date '{late_date}'",
    )
    assert late_day_fills_after == late_day_fills_before + len(late_fill_ids)
    assert late_day_fills_after == fills_in_fct_trades
    fee_ids = ", ".join(f"'{i}'" for i in late_fee_ids)
    assert _query(
        warehouse, f"select count(*) from marts.fct_fee_collections where fee_id in ({fee_ids})"
    ) == [(len(late_fee_ids),)]
    assert _query(
        warehouse,
        "select count(*) from marts.fct_orders as o join (select order_id, count(*) as fills "
        "from marts.fct_trades group by order_id) as f using (order_id) "
        "where o.fill_count <> f.fills",
    ) == [(0,)], "fct_orders counts every fill, the late ones included"

    # Later versions replaced the earlier ones: order status changes and KYC approvals.
    latest_orders = dict(
        _query(
            warehouse,
            "select order_id, status from (select order_id, status, row_number() over ("
            "partition by order_id order by updated_at desc nulls last, _loaded_at desc, "
            "_source_file desc, _row_number desc) as version_rank from raw.orders) "
            "where version_rank = 1",
        )
    )
    final_orders = dict(_query(warehouse, "select order_id, order_status from marts.fct_orders"))
    changed = {o for o, status in first_orders.items() if latest_orders[o] != status}
    assert changed, "the deliveries hold later versions of earlier orders"
    assert {o: final_orders[o] for o in changed} == {o: latest_orders[o] for o in changed}
    final_kyc = dict(
        _query(warehouse, "select user_id, verification_status from staging.stg_exchange__user_kyc")
    )
    kyc_changed = {u for u, status in first_kyc.items() if final_kyc[u] != status}
    assert kyc_changed, "the deliveries hold later KYC versions of earlier users"
    dim_users = dict(_query(warehouse, "select user_id, kyc_status from marts.dim_users"))
    assert {u: dim_users[u] for u in kyc_changed} == {u: final_kyc[u] for u in kyc_changed}

    # The same warehouse rebuilt from scratch gives the same marts, row for row.
    full_root = tmp_path / "full"
    full_root.mkdir()
    full_warehouse = full_root / "full.duckdb"
    shutil.copyfile(warehouse, full_warehouse)
    full_env = project_env(tmp_path, full_warehouse)  # same target dir: partial parsing
    dbt(["run", "--full-refresh", *VARS], full_env)
    differences = _mart_differences(warehouse, full_warehouse)
    run_history = _run_history_marts(Path(full_env["DBT_TARGET_PATH"]))
    assert {
        name: d for name, d in differences.items() if d != (0, 0) and name not in run_history
    } == {}
    assert differences.keys() >= {
        "fct_trades",
        "fct_orders",
        "fct_transactions",
        "fct_fee_collections",
        "fct_daily_exchange_kpis",
    }
    # The incremental staging tables too, wallets (read only by the integrity tests) and the
    # versioned orders among them: a run re-ranks every version of the keys it touches.
    staging = _mart_differences(warehouse, full_warehouse, "staging")
    incremental_staging = [
        "stg_exchange__trades",
        "stg_exchange__orders",
        "stg_exchange__transactions",
        "stg_exchange__fee_collections",
        "stg_exchange__wallets",
    ]
    assert {name: staging[name] for name in incremental_staging} == dict.fromkeys(
        incremental_staging, (0, 0)
    )
