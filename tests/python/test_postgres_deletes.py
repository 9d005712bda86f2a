"""Deletes in the operational PostgreSQL database reach the marts (docs/deletes.md).

Populate an OLTP schema from the tiny landing files, extract, build; delete a user, an order
and a trade in PostgreSQL; extract and build again: the tombstones land in raw._deletions, the
user is flagged in dim_users and kept in the compliance marts but gone from the
marketing-facing marts, the order is flagged in fct_orders, the trade stays in fct_trades and
its delete is reported. Then extract and build once more: nothing changes. The incremental
orders equal a full refresh.
"""

from __future__ import annotations

import shutil

import duckdb
import pytest

from ingestion.postgres import extract, populate_oltp
from ingestion.postgres.loader.extractor import RAW_DELETIONS

from .conftest import dbt, project_env
from .test_postgres_oltp import copy_landing, pg

pytestmark = pytest.mark.postgres

MODELS = [
    "dim_users",
    "fct_orders",
    "fct_trades",
    "fct_user_churn_risk",
    "dim_user_segments",
    "dim_user_risk_profiles",
    "fct_source_deletions",
]
# tests only where every model they read is built (orchestration's choice, assets/dbt.py)
SELECT = [
    "--select",
    *[f"+{m}" for m in MODELS],
    "--exclude-resource-type",
    "unit_test",
    "--indirect-selection",
    "buildable",
    # The OLTP keeps one (latest) version of each user, so an extract has no tier history and
    # this test's expected taker rates differ from the simulator's: not about deletes.
    "--exclude",
    "assert_fill_fees_match_fee_rates",
]


def relation(con: duckdb.DuckDBPyConnection, name: str) -> str:
    (schema,) = con.execute(
        "select table_schema from information_schema.tables where table_name = ?", [name]
    ).fetchone()
    return f"{schema}.{name}"


def snapshot(warehouse) -> dict[str, list[tuple]]:
    """Every row of the marts under test, sorted (the comparison of a re-run)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {
            name: sorted(
                con.execute(f"select * from {relation(con, name)}").fetchall(),
                key=lambda row: tuple(str(v) for v in row),
            )
            for name in [*MODELS, "stg_exchange__users", "stg_exchange__orders"]
        }


def query(warehouse, sql: str, params=None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for name in MODELS:
            sql = sql.replace("{" + name + "}", relation(con, name))
        return con.execute(sql, params or []).fetchall()


def test_deletes_reach_the_marts_and_a_rerun_changes_nothing(
    postgres_schema, tiny_landing, tmp_path
):
    dsn, schema = postgres_schema
    landing = copy_landing(tiny_landing, tmp_path / "landing")
    populate_oltp(landing, dsn, schema)
    warehouse = tmp_path / "wh" / "warehouse.duckdb"
    env = project_env(tmp_path, warehouse)

    first = extract(dsn, warehouse, schema)
    assert first.tables["_deletions"].rows == 0
    dbt(["build", *SELECT], env)

    # a user who is in the marketing-facing marts, an order of another user, a trade
    [(user_id,)] = query(
        warehouse,
        "select user_id from {fct_user_churn_risk} join {dim_user_segments} using (user_id) "
        "join {dim_user_risk_profiles} using (user_id) order by user_id limit 1",
    )
    [(order_id,)] = query(
        warehouse,
        "select order_id from {fct_orders} where user_id <> ? order by order_id limit 1",
        [user_id],
    )
    [(trade_id,)] = query(warehouse, "select trade_id from {fct_trades} order by trade_id limit 1")
    users_before = query(warehouse, "select count(*) from {dim_users}")
    orders_before = query(warehouse, "select count(*) from {fct_orders}")
    trades_before = query(warehouse, "select count(*) from {fct_trades}")
    assert query(warehouse, "select count(*) from {dim_users} where is_deleted") == [(0,)]

    pg(dsn, f'delete from "{schema}".users where user_id = %s', [user_id], fetch=False)
    pg(dsn, f'delete from "{schema}".orders where order_id = %s', [order_id], fetch=False)
    pg(dsn, f'delete from "{schema}".trades where trade_id = %s', [trade_id], fetch=False)
    tombstones = pg(dsn, f'select table_name, row_key from "{schema}"._deletions order by 1')
    assert tombstones == [("orders", order_id), ("trades", trade_id), ("users", user_id)]

    second = extract(dsn, warehouse, schema)
    assert second.tables["_deletions"].rows == 3
    assert second.rows == 3  # nothing else changed
    dbt(["build", *SELECT], env)

    # the user: flagged, kept (dim_users, compliance), gone from the marketing-facing marts
    assert query(
        warehouse,
        "select is_deleted, deleted_at is not null from {dim_users} where user_id = ?",
        [user_id],
    ) == [(True, True)]
    assert query(warehouse, "select count(*) from {dim_users}") == users_before
    assert query(warehouse, "select count(*) from {dim_users} where is_deleted") == [(1,)]
    for mart in ("fct_user_churn_risk", "dim_user_segments"):
        assert query(
            warehouse, "select count(*) from {" + mart + "} where user_id = ?", [user_id]
        ) == [(0,)], mart
    assert query(
        warehouse, "select count(*) from {dim_user_risk_profiles} where user_id = ?", [user_id]
    ) == [(1,)]
    # the order: flagged and kept; the trade: kept, its delete reported
    assert query(
        warehouse,
        "select is_deleted, deleted_at is not null from {fct_orders} where order_id = ?",
        [order_id],
    ) == [(True, True)]
    assert query(warehouse, "select count(*) from {fct_orders}") == orders_before
    assert query(warehouse, "select count(*) from {fct_orders} where is_deleted") == [(1,)]
    assert query(warehouse, "select count(*) from {fct_trades}") == trades_before
    assert query(
        warehouse,
        "select table_name, row_key, handling, is_fact_retained from {fct_source_deletions} "
        "order by table_name",
    ) == [
        ("orders", order_id, "flagged", False),
        ("trades", trade_id, "fact_retained", True),
        ("users", user_id, "flagged", False),
    ]

    # a re-run changes nothing: no tombstone twice, the same marts
    before = snapshot(warehouse)
    third = extract(dsn, warehouse, schema)
    assert third.rows == 0
    dbt(["build", *SELECT], env)
    assert snapshot(warehouse) == before
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute(f"select count(*) from {RAW_DELETIONS}").fetchone() == (3,)

    # the incremental orders (a tombstone is a change of the order) equal a full refresh
    rebuilt = tmp_path / "rebuilt" / "warehouse.duckdb"
    rebuilt.parent.mkdir()
    shutil.copy(warehouse, rebuilt)
    dbt(
        ["run", "--full-refresh", "--select", "stg_exchange__orders", "fct_orders"],
        project_env(tmp_path / "rebuilt", rebuilt),
    )
    assert snapshot(rebuilt)["fct_orders"] == before["fct_orders"]
    assert snapshot(rebuilt)["stg_exchange__orders"] == before["stg_exchange__orders"]


def test_a_key_deleted_and_inserted_again_is_alive(postgres_schema, tiny_landing, tmp_path):
    """Deleted and re-inserted before the next extract: the tombstone lands before the new
    row (tombstones are extracted first), so staging keeps the user alive."""
    dsn, schema = postgres_schema
    landing = copy_landing(tiny_landing, tmp_path / "landing")
    populate_oltp(landing, dsn, schema)
    warehouse = tmp_path / "wh" / "warehouse.duckdb"
    env = project_env(tmp_path, warehouse)
    extract(dsn, warehouse, schema, tables="users")
    [(user_id,)] = pg(dsn, f'select user_id::text from "{schema}".users order by 1 limit 1')
    table = f'"{schema}".users'
    pg(
        dsn,
        f"create temp table saved as select * from {table} where user_id = %s; "
        f"delete from {table} where user_id = %s; "
        "update saved set _changed_at = clock_timestamp(); "
        f"insert into {table} select * from saved",
        [user_id, user_id],
        fetch=False,
    )
    report = extract(dsn, warehouse, schema, tables="users")
    assert report.tables["_deletions"].rows == 1 and report.tables["users"].rows == 1
    dbt(["run", "--select", "+stg_exchange__users"], env)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute(
            "select is_deleted from staging.stg_exchange__users where user_id = ?", [user_id]
        ).fetchall() == [(False,)]
