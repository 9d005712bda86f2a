"""Deletes in the operational PostgreSQL database reach the marts (docs/deletes.md).

Populate an OLTP schema from the tiny landing files, extract, build; delete a user, an order,
a trade, a wallet and a KYC record in PostgreSQL; extract and build again: the tombstones land
in raw._deletions, the user is flagged in dim_users and kept in the compliance marts but gone
from the marketing-facing marts, the order is flagged in fct_orders, the wallet in
stg_exchange__wallets, the KYC record in dim_users (its last state kept) and shown as no
verification in dim_user_segments, the trade stays in fct_trades and its delete is reported.
Then extract and build once more: nothing changes. The incremental orders and wallets equal a
full refresh.
"""

from __future__ import annotations

import shutil

import duckdb
import pytest

from ingestion.postgres import extract, populate_oltp
from ingestion.postgres.loader.extractor import RAW_DELETIONS
from orchestration.dbt_args import EXCLUDE_UNIT_TESTS

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
    "stg_exchange__wallets",
]
# tests only where every model they read is built (orchestration's choice, assets/dbt.py)
SELECT = [
    "--select",
    *[f"+{m}" for m in MODELS],
    *EXCLUDE_UNIT_TESTS,
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


def _stable(value):
    """A float to 12 significant digits: DuckDB's parallel sums of floats may add in another
    order on each run, which changes the last bits (seen on dim_user_segments' 30-day
    revenue: 20.82760094479999 against 20.827600944799986)."""
    return float(f"{value:.12g}") if isinstance(value, float) else value


def snapshot(warehouse) -> dict[str, list[tuple]]:
    """Every row of the marts under test, sorted (the comparison of a re-run)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {
            name: sorted(
                (
                    tuple(_stable(v) for v in row)
                    for row in con.execute(f"select * from {relation(con, name)}").fetchall()
                ),
                key=lambda row: tuple(str(v) for v in row),
            )
            for name in [
                *MODELS,
                "stg_exchange__users",
                "stg_exchange__orders",
                "stg_exchange__user_kyc",
            ]
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
    [(wallet_id,)] = query(
        warehouse,
        "select wallet_id from {stg_exchange__wallets} where user_id <> ? "
        "order by wallet_id limit 1",
        [user_id],
    )
    # a verified user of the marketing-facing segments, not the deleted one
    [(kyc_user_id, kyc_status)] = query(
        warehouse,
        "select user_id, kyc_status from {dim_user_segments} "
        "where kyc_status <> 'none' and user_id <> ? order by user_id limit 1",
        [user_id],
    )
    wallets_before = query(warehouse, "select count(*) from {stg_exchange__wallets}")
    users_before = query(warehouse, "select count(*) from {dim_users}")
    orders_before = query(warehouse, "select count(*) from {fct_orders}")
    trades_before = query(warehouse, "select count(*) from {fct_trades}")
    assert query(warehouse, "select count(*) from {dim_users} where is_deleted") == [(0,)]
    assert query(warehouse, "select count(*) from {dim_users} where kyc_is_deleted") == [(0,)]
    assert query(warehouse, "select count(*) from {stg_exchange__wallets} where is_deleted") == [
        (0,)
    ]

    pg(dsn, f'delete from "{schema}".users where user_id = %s', [user_id], fetch=False)
    pg(dsn, f'delete from "{schema}".orders where order_id = %s', [order_id], fetch=False)
    pg(dsn, f'delete from "{schema}".trades where trade_id = %s', [trade_id], fetch=False)
    pg(dsn, f'delete from "{schema}".wallets where wallet_id = %s', [wallet_id], fetch=False)
    pg(dsn, f'delete from "{schema}".user_kyc where user_id = %s', [kyc_user_id], fetch=False)
    tombstones = pg(dsn, f'select table_name, row_key from "{schema}"._deletions order by 1')
    assert tombstones == [
        ("orders", order_id),
        ("trades", trade_id),
        ("user_kyc", kyc_user_id),
        ("users", user_id),
        ("wallets", wallet_id),
    ]

    second = extract(dsn, warehouse, schema)
    assert second.tables["_deletions"].rows == 5
    assert second.rows == 5  # nothing else changed
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
    # the wallet: flagged and kept (the custody record)
    assert query(
        warehouse,
        "select is_deleted, deleted_at is not null from {stg_exchange__wallets} "
        "where wallet_id = ?",
        [wallet_id],
    ) == [(True, True)]
    assert query(warehouse, "select count(*) from {stg_exchange__wallets}") == wallets_before
    assert query(warehouse, "select count(*) from {stg_exchange__wallets} where is_deleted") == [
        (1,)
    ]
    # the KYC record: its last state kept and flagged in dim_users (AML); the user stays in
    # the marketing-facing segments, shown without a verification
    assert query(
        warehouse,
        "select kyc_status, kyc_is_deleted, kyc_deleted_at is not null, is_deleted "
        "from {dim_users} where user_id = ?",
        [kyc_user_id],
    ) == [(kyc_status, True, True, False)]
    assert query(warehouse, "select count(*) from {dim_users} where kyc_is_deleted") == [(1,)]
    assert query(
        warehouse, "select kyc_status from {dim_user_segments} where user_id = ?", [kyc_user_id]
    ) == [("none",)]
    assert query(
        warehouse,
        "select table_name, row_key, handling, is_fact_retained from {fct_source_deletions} "
        "order by table_name",
    ) == [
        ("orders", order_id, "flagged", False),
        ("trades", trade_id, "fact_retained", True),
        ("user_kyc", kyc_user_id, "flagged", False),
        ("users", user_id, "flagged", False),
        ("wallets", wallet_id, "flagged", False),
    ]

    # a re-run changes nothing: no tombstone twice, the same marts
    before = snapshot(warehouse)
    third = extract(dsn, warehouse, schema)
    assert third.rows == 0
    dbt(["build", *SELECT], env)
    assert snapshot(warehouse) == before
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute(f"select count(*) from {RAW_DELETIONS}").fetchone() == (5,)

    # the incremental orders and wallets (a tombstone is a change of the row) equal a full
    # refresh
    rebuilt = tmp_path / "rebuilt" / "warehouse.duckdb"
    rebuilt.parent.mkdir()
    shutil.copy(warehouse, rebuilt)
    dbt(
        [
            "run",
            "--full-refresh",
            "--select",
            "stg_exchange__orders",
            "fct_orders",
            "stg_exchange__wallets",
        ],
        project_env(tmp_path / "rebuilt", rebuilt),
    )
    assert snapshot(rebuilt)["fct_orders"] == before["fct_orders"]
    assert snapshot(rebuilt)["stg_exchange__orders"] == before["stg_exchange__orders"]
    assert snapshot(rebuilt)["stg_exchange__wallets"] == before["stg_exchange__wallets"]


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
