"""The operational PostgreSQL source: populate-oltp and the incremental extractor
(ingestion/postgres), against a real PostgreSQL server and real DuckDB files.

Each test gets a schema of its own (conftest ``postgres_schema``), dropped afterwards, and
populates it from a private copy of the tiny landing directory (the loader moves unreadable
files aside, and the shared copy must stay as it is).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import psycopg2
import pytest

from ingestion.contract import TABLES
from ingestion.postgres import extract, populate_oltp
from ingestion.postgres.loader import extractor as extract_module
from ingestion.postgres.loader.extractor import CURSORS, describe_table
from ingestion.postgres.oltp_schema import CHANGED_AT, UUID_COLUMNS

from .conftest import REPO

pytestmark = pytest.mark.postgres


# --------------------------------------------------------------------------------------
# helpers


def copy_landing(source: Path, target: Path, until: str | None = None) -> Path:
    """A private landing directory; with ``until`` (a date), only the files of days up to it
    (tables written once, like user_tiers, always)."""
    for table in TABLES:
        folder = source / table
        if not folder.is_dir():
            continue
        (target / table).mkdir(parents=True, exist_ok=True)
        files = sorted(p for p in folder.iterdir() if p.is_file())
        for path in files:
            day = path.name[len(table) + 1 : len(table) + 11]
            if until is None or len(files) == 1 or day <= until:
                shutil.copy(path, target / table / path.name)
    return target


def latest_versions(con: duckdb.DuckDBPyConnection, catalog: str, table: str) -> set[tuple]:
    """The latest version of each key in a raw table (the rule of macros/latest_version.sql),
    contract columns only."""
    spec = TABLES[table]
    columns = ", ".join(f'"{c}"' for c in spec.column_names)
    keys = ", ".join(f'"{c}"' for c in spec.primary_key)
    order = (f'"{spec.version_column}" desc nulls last, ' if spec.version_column else "") + (
        "_loaded_at desc, _source_file desc, _row_number desc"
    )
    rows = con.execute(
        f'select {columns} from {catalog}.raw."{table}" '
        f"qualify row_number() over (partition by {keys} order by {order}) = 1"
    ).fetchall()
    return set(rows)


def pg(dsn: str, sql: str, params=None, fetch: bool = True):
    con = psycopg2.connect(dsn)
    try:
        with con.cursor() as cur:
            cur.execute(sql, params)
            rows = cur.fetchall() if fetch and cur.description else None
        con.commit()
        return rows
    finally:
        con.close()


@pytest.fixture
def populated(postgres_schema, tiny_landing, tmp_path):
    dsn, schema = postgres_schema
    landing = copy_landing(tiny_landing, tmp_path / "landing")
    report = populate_oltp(landing, dsn, schema)
    return dsn, schema, report, landing


# --------------------------------------------------------------------------------------
# populate-oltp


def test_populate_builds_the_design_documents_schema(populated):
    dsn, schema, report, _ = populated
    tables = {
        r[0]
        for r in pg(
            dsn,
            "select table_name from information_schema.tables where table_schema = %s",
            [schema],
        )
    }
    assert tables == set(TABLES) | {"_deletions"}  # the tombstones (docs/deletes.md)
    primary_keys = dict(
        pg(
            dsn,
            "select tc.table_name, string_agg(kcu.column_name, ',' order by kcu.ordinal_position) "
            "from information_schema.table_constraints tc "
            "join information_schema.key_column_usage kcu "
            "using (constraint_schema, constraint_name) where tc.table_schema = %s "
            "and tc.constraint_type = 'PRIMARY KEY' group by tc.table_name",
            [schema],
        )
    )
    assert primary_keys == {name: ",".join(t.primary_key) for name, t in TABLES.items()} | {
        "_deletions": "deletion_id"  # the tombstones (docs/deletes.md)
    }
    uniques = {
        r[0]
        for r in pg(
            dsn,
            "select tc.table_name || '(' "
            "|| string_agg(kcu.column_name, ',' order by kcu.ordinal_position) || ')' "
            "from information_schema.table_constraints tc "
            "join information_schema.key_column_usage kcu "
            "using (constraint_schema, constraint_name) where tc.table_schema = %s "
            "and tc.constraint_type = 'UNIQUE' group by tc.table_name, tc.constraint_name",
            [schema],
        )
    }
    assert uniques == {"users(email)", "trading_pairs(symbol)", "wallets(user_id,asset)"}
    indexes = {
        r[0] for r in pg(dsn, "select indexdef from pg_indexes where schemaname = %s", [schema])
    }
    assert any("trades_executed_at_idx" in i for i in indexes)  # the design's partition key
    assert any("trades_order_id_idx" in i for i in indexes)
    assert any(f"({CHANGED_AT}, trade_id)" in i for i in indexes)  # the extract cursor
    types = dict(
        pg(
            dsn,
            "select table_name || '.' || column_name, data_type from information_schema.columns "
            "where table_schema = %s",
            [schema],
        )
    )
    for table, columns in UUID_COLUMNS.items():
        for column in columns:
            assert types[f"{table}.{column}"] == "uuid"
    assert types["trades.price"] == "numeric"
    # one row per key: the latest version
    for name, result in report.tables.items():
        (count,) = pg(dsn, f'select count(*) from "{schema}"."{name}"')[0]
        assert count == result.rows_latest == result.inserted, name
    status = pg(
        dsn,
        f'select count(*) from "{schema}".orders '
        "where status not in ('pending', 'partial', 'filled', 'cancelled')",
    )
    assert status == [(0,)]


def test_populate_again_changes_nothing(populated):
    dsn, schema, _, landing = populated
    before = pg(dsn, f'select max({CHANGED_AT}) from "{schema}".support_tickets')
    again = populate_oltp(landing, dsn, schema)
    assert all(t.inserted == 0 and t.updated == 0 for t in again.tables.values()), again.summary()
    assert pg(dsn, f'select max({CHANGED_AT}) from "{schema}".support_tickets') == before


# --------------------------------------------------------------------------------------
# extract


def test_extract_reproduces_the_file_load(populated, tiny_warehouse, tmp_path):
    dsn, schema, _, _ = populated
    warehouse = tmp_path / "wh" / "warehouse.duckdb"
    # through the CLI, as a user runs it
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ingestion.postgres",
            "extract",
            "--dsn",
            dsn,
            "--schema",
            schema,
            "--warehouse",
            str(warehouse),
            "--json",
            "-q",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["skipped_tables"] == []
    con = duckdb.connect()
    con.execute(f"attach '{warehouse}' as extracted (read_only)")
    con.execute(f"attach '{tiny_warehouse.warehouse}' as files (read_only)")
    for table in TABLES:
        assert latest_versions(con, "extracted", table) == latest_versions(con, "files", table), (
            table
        )
    # same provenance as a file load: the batch files are recorded, no row quarantined
    files = con.execute(
        "select table_name, source_file, status from extracted.raw._loaded_files"
    ).fetchall()
    assert {t for t, _, _ in files} == set(TABLES)
    assert all(
        f.startswith(f"{t}/{t}_") and f.endswith(".parquet") and s == "loaded" for t, f, s in files
    )
    assert con.execute("select count(*) from extracted.raw._quarantine").fetchone() == (0,)
    load_ids = con.execute("select distinct _load_id from extracted.raw.trades").fetchall()
    assert load_ids == [(report["load_id"],)]
    # committed batches leave nothing behind
    assert not list((warehouse.parent / "pg_extract").rglob("*.parquet"))


def test_second_extract_moves_only_what_changed(populated, tmp_path):
    dsn, schema, _, _ = populated
    warehouse = tmp_path / "warehouse.duckdb"
    first = extract(dsn, warehouse, schema)
    assert first.rows == sum(t.rows_latest for t in populated[2].tables.values())

    q = f'"{schema}"'
    new_trade, late_trade = (
        "00000000-ffff-8004-8000-000000000001",
        "00000000-ffff-8004-8000-000000000002",
    )
    template = pg(dsn, f"select order_id, user_id, pair_id from {q}.trades limit 1")[0]
    for trade_id, executed_at in (
        (new_trade, "2026-11-01 10:00:00"),
        (late_trade, "2026-10-01 08:00:00"),
    ):
        pg(
            dsn,
            f"insert into {q}.trades (trade_id, order_id, user_id, pair_id, side, quantity, "
            "price, fee, fee_asset, is_maker, executed_at) "
            "values (%s, %s, %s, %s, 'buy', 1, 100, 0.1, 'USDT', false, %s)",
            [trade_id, *template, executed_at],
            fetch=False,
        )
    # a change to a table without updated_at, one with it, and an update that changes nothing
    ticket = pg(dsn, f"select ticket_id from {q}.support_tickets where status <> 'closed' limit 1")[
        0
    ][0]
    pg(
        dsn,
        f"update {q}.support_tickets set status = 'closed' where ticket_id = %s",
        [ticket],
        fetch=False,
    )
    order = pg(dsn, f"select order_id from {q}.orders where status <> 'cancelled' limit 1")[0][0]
    pg(
        dsn,
        f"update {q}.orders set status = 'cancelled', "
        "updated_at = updated_at + interval '1 minute' where order_id = %s",
        [order],
        fetch=False,
    )
    pg(dsn, f"update {q}.users set status = status", fetch=False)

    second = extract(dsn, warehouse, schema)
    moved = {name: t.rows for name, t in second.tables.items() if t.rows}
    assert moved == {"trades": 2, "support_tickets": 1, "orders": 1}, second.summary()
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert con.execute(
            "select count(*) from raw.trades where trade_id in (?, ?)", [new_trade, late_trade]
        ).fetchone() == (2,)
        latest_ticket = con.execute(
            "select status from raw.support_tickets where ticket_id = ? "
            "order by _loaded_at desc limit 1",
            [str(ticket)],
        ).fetchone()
        assert latest_ticket == ("closed",)
        cursor = con.execute(
            f"select cursor_column, rows_extracted, batches from {CURSORS} "
            "where table_name = 'trades'"
        ).fetchone()
        assert cursor[0] == CHANGED_AT and cursor[2] == 2
    finally:
        con.close()

    third = extract(dsn, warehouse, schema)
    assert third.rows == 0


def test_newer_landing_files_flow_through_populate_and_extract(
    postgres_schema, tiny_landing, tiny_warehouse, tmp_path
):
    dsn, schema = postgres_schema
    early = copy_landing(tiny_landing, tmp_path / "early", until="2026-10-25")
    full = copy_landing(tiny_landing, tmp_path / "full")
    warehouse = tmp_path / "warehouse.duckdb"
    populate_oltp(early, dsn, schema)
    extract(dsn, warehouse, schema)
    newer = populate_oltp(full, dsn, schema)
    assert sum(t.updated for t in newer.tables.values()) > 0  # mutable rows moved on
    second = extract(dsn, warehouse, schema)
    for name, table in newer.tables.items():
        assert second.tables[name].rows == table.inserted + table.updated, name
    con = duckdb.connect()
    con.execute(f"attach '{warehouse}' as extracted (read_only)")
    con.execute(f"attach '{tiny_warehouse.warehouse}' as files (read_only)")
    for table in TABLES:
        assert latest_versions(con, "extracted", table) == latest_versions(con, "files", table), (
            table
        )


class Crash(Exception):
    """Stands for the process dying at a given point."""


def test_extract_resumes_after_a_crash_and_a_dropped_connection(populated, monkeypatch, tmp_path):
    dsn, schema, report, _ = populated
    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setattr(extract_module._Extractor, "backoff", 0.0)

    # 1. killed after a batch file was written, before the loader ran
    def crash_when_written(stage, table, path):
        if stage == "written" and table == "trades":
            raise Crash(path)

    monkeypatch.setattr(extract_module, "at_checkpoint", crash_when_written)
    with pytest.raises(Crash):
        extract(dsn, warehouse, schema, batch_size=500)
    pending = list((tmp_path / "pg_extract" / "trades").glob("*.parquet"))
    assert len(pending) == 1
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute(
        "select count(*) from raw._loaded_files where table_name = 'trades'"
    ).fetchone() == (0,)  # nothing of trades loaded yet
    con.close()

    # 2. killed after the loader committed a batch, before the cursor moved
    def crash_when_loaded(stage, table, path):
        if stage == "loaded" and table == "transactions":
            raise Crash(path)

    monkeypatch.setattr(extract_module, "at_checkpoint", crash_when_loaded)
    with pytest.raises(Crash):
        extract(dsn, warehouse, schema, batch_size=500)

    # 3. the connection drops in the middle of a table: reconnect and go on
    killed = []

    def drop_connection(stage, table, path):
        if stage == "loaded" and table == "fee_collections" and not killed:
            killed.extend(
                pg(
                    dsn,
                    "select pg_terminate_backend(pid) from pg_stat_activity "
                    "where application_name = 'crypto_exchange_ingestion' "
                    "and pid <> pg_backend_pid()",
                )
            )

    monkeypatch.setattr(extract_module, "at_checkpoint", drop_connection)
    resumed = extract(dsn, warehouse, schema, batch_size=500)
    assert killed and resumed.tables["fee_collections"].retries == 1
    assert resumed.tables["transactions"].resumed_batches == 1  # loaded, cursor moved now
    assert resumed.tables["trades"].resumed_batches == 0  # finished by run 2
    assert resumed.tables["users"].rows == 0  # finished by run 1

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        for name, table in report.tables.items():
            spec = TABLES[name]
            keys = ", ".join(f'"{c}"' for c in spec.primary_key)
            total, distinct = con.execute(
                f'select count(*), count(distinct ({keys})) from raw."{name}"'
            ).fetchone()
            assert total == distinct == table.rows_latest, name  # nothing lost, nothing twice
    finally:
        con.close()
    assert not list((tmp_path / "pg_extract").rglob("*.parquet"))
    assert extract(dsn, warehouse, schema, batch_size=500).rows == 0


def test_cursor_column_falls_back_to_updated_at_then_event_time(populated):
    dsn, schema, _, _ = populated
    con = psycopg2.connect(dsn)
    try:
        assert describe_table(con, schema, "trades").cursor_column == CHANGED_AT
        with con.cursor() as cur:
            cur.execute(f'alter table "{schema}".users drop column {CHANGED_AT} cascade')
            cur.execute(f'alter table "{schema}".trades drop column {CHANGED_AT} cascade')
        con.commit()
        users = describe_table(con, schema, "users")
        trades = describe_table(con, schema, "trades")
        assert (users.cursor_column, users.primary_key) == ("updated_at", ("user_id",))
        assert (trades.cursor_column, trades.primary_key) == ("executed_at", ("trade_id",))
        assert describe_table(con, schema, "no_such_table") is None
    finally:
        con.close()


def test_extract_cli_reports_a_connection_failure(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ingestion.postgres",
            "extract",
            "--dsn",
            "postgresql://nobody:secret@127.0.0.1:1/none",
            "--warehouse",
            str(tmp_path / "wh.duckdb"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert "run the same command again to resume" in done.stderr
    assert "secret" not in done.stderr  # the password is never printed
