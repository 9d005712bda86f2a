"""PostgreSQL as a dbt target: publish-raw, `dbt build --target postgres`, the BI role.

The tiny warehouse (conftest) is built on DuckDB; its raw schema is published into a database
of its own on the PostgreSQL server (conftest ``postgres_database``), the whole project is built
there, and every mart must equal DuckDB's. The read-only BI role may read the marts and nothing
else.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import os
import re
import shutil
import subprocess
import uuid

import duckdb
import psycopg2
import pytest
from psycopg2.extensions import parse_dsn

from ingestion.loaders import load_table
from ingestion.postgres import publish_raw
from ingestion.postgres.connection import pii_key_pgoptions
from orchestration.dbt_args import EXCLUDE_UNIT_TESTS

from .conftest import BIN, REPO

pytestmark = pytest.mark.postgres

# The tiny warehouse's DuckDB build hashes e-mails with the profile's key: the same here.
PII_KEY = os.environ.get("DBT_ENV_SECRET_PII_HASH_KEY", "local-development-key-change-me")


def dbt_postgres_env(dsn: str, root, pii_key: str | None) -> dict:
    """Environment for dbt's postgres target pointed at ``dsn``."""
    parts = parse_dsn(dsn)
    env = dict(os.environ)
    env.update(
        DBT_TARGET="postgres",
        EXCHANGE_PG_HOST=parts.get("host", "127.0.0.1"),
        EXCHANGE_PG_PORT=parts.get("port", "5432"),
        EXCHANGE_PG_USER=parts.get("user", "postgres"),
        EXCHANGE_PG_DATABASE=parts["dbname"],
        DBT_ENV_SECRET_PG_PASSWORD=parts.get("password", ""),
        DBT_TARGET_PATH=str(root / "dbt_target_pg"),
        DBT_LOG_PATH=str(root / "dbt_logs_pg"),
        DBT_PROFILES_DIR=str(REPO),
        DO_NOT_TRACK="1",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    env.pop("PGOPTIONS", None)
    if pii_key is not None:
        env["PGOPTIONS"] = pii_key_pgoptions(pii_key)
    return env


def dbt_pg(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "dbt"), *args, "--no-use-colors"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )


# Marts over dbt's own run results (models/marts/operations): each target records its own runs.
RUN_DEPENDENT_MARTS = {"fct_data_quality_scorecard", "fct_pipeline_runs", "fct_pipeline_run_stages"}


def sort_key(value):
    """Rows are sorted on values rounded to 6 digits, then compared with a tolerance: the two
    engines may sum floats in another order."""
    if isinstance(value, (float, decimal.Decimal)):
        number = float(value)
        return "nan" if math.isnan(number) else float(f"{number:.6g}")
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return tuple(sort_key(v) for v in value)
    return value


def same_value(a, b) -> bool:
    if isinstance(a, (float, decimal.Decimal)) and isinstance(b, (float, decimal.Decimal)):
        a, b = float(a), float(b)
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return sort_key(a) == sort_key(b)


def same_rows(left: list[tuple], right: list[tuple]) -> bool:
    if len(left) != len(right):
        return False
    left = sorted(left, key=lambda r: repr(sort_key(r)))
    right = sorted(right, key=lambda r: repr(sort_key(r)))
    return all(
        len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
        for a, b in zip(left, right, strict=True)
    )


# --------------------------------------------------------------------------------------
# publish-raw


def test_publish_raw_is_incremental_by_load_and_idempotent(
    postgres_database, tiny_warehouse, tmp_path
):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(tiny_warehouse.warehouse, warehouse)
    schema = "raw_publish_test"
    first = publish_raw(warehouse, postgres_database, schema)
    con = duckdb.connect(str(warehouse), read_only=True)
    tables = [
        r[0]
        for r in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'raw'"
        ).fetchall()
    ]
    exact = {t: con.execute(f'select count(*) from raw."{t}"').fetchone()[0] for t in tables}
    con.close()
    pg = psycopg2.connect(postgres_database)
    try:
        with pg.cursor() as cur:
            for table, count in exact.items():
                cur.execute(f'select count(*) from "{schema}"."{table}"')
                assert cur.fetchone()[0] == count, table
                assert first.tables[table].rows_published == count, table
        pg.commit()

        assert publish_raw(warehouse, postgres_database, schema).rows_published == 0

        # a new load of two fills: only that load is sent
        landing = tmp_path / "landing"
        (landing / "trades").mkdir(parents=True)
        (landing / "trades" / "trades_extra.csv").write_text(
            "trade_id,order_id,user_id,pair_id,side,quantity,price,fee,fee_asset,is_maker,executed_at,"
            "new_column\n"
            "00000000-eeee-8004-8000-000000000001,00000000-eeee-8003-8000-000000000001,"
            "00000000-eeee-8001-8000-000000000001,1,buy,1,100,0.1,USDT,false,2026-10-31T23:00:00Z,x\n"
            "00000000-eeee-8004-8000-000000000002,00000000-eeee-8003-8000-000000000001,"
            "00000000-eeee-8001-8000-000000000001,1,sell,1,100,0.1,USDT,true,2026-10-31T23:00:00Z,y\n"
        )
        load = load_table(warehouse, landing, "trades")
        again = publish_raw(warehouse, postgres_database, schema)
        published = {t: r for t, r in again.tables.items() if r.rows_published}
        assert set(published) == {"trades", "_loaded_files"}
        assert published["trades"].rows_published == 2 and published["trades"].loads_published == 1
        assert published["trades"].columns_added == ["new_column"]  # schema drift follows
        with pg.cursor() as cur:
            cur.execute(
                f'select new_column from "{schema}".trades where _load_id = %s order by 1',
                [load.load_id],
            )
            assert cur.fetchall() == [("x",), ("y",)]
        pg.commit()

        # a load removed from DuckDB is removed from PostgreSQL
        con = duckdb.connect(str(warehouse))
        con.execute("delete from raw.trades where _load_id = ?", [load.load_id])
        con.close()
        removed = publish_raw(warehouse, postgres_database, schema)
        assert removed.tables["trades"].loads_removed == 1
        with pg.cursor() as cur:
            cur.execute(f'select count(*) from "{schema}".trades')
            assert cur.fetchone()[0] == exact["trades"]
        pg.commit()
    finally:
        pg.close()


# --------------------------------------------------------------------------------------
# dbt build --target postgres


@pytest.fixture(scope="module")
def postgres_build(postgres_database, tiny_warehouse, tmp_path_factory):
    """The tiny warehouse's raw schema published and the whole project built on PostgreSQL."""
    root = tmp_path_factory.mktemp("postgres_build")
    publish_raw(tiny_warehouse.warehouse, postgres_database)
    role = f"bi_reader_test_{uuid.uuid4().hex[:8]}"
    env = dbt_postgres_env(postgres_database, root, PII_KEY)
    vars_ = json.dumps({"bi_reader_role": role})
    built = dbt_pg(["build", "--vars", vars_], env)
    assert built.returncode == 0, built.stdout[-8000:]
    try:
        yield postgres_database, role, env, vars_
    finally:
        admin = psycopg2.connect(postgres_database)
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(f'drop owned by "{role}"')
            cur.execute(f'drop role if exists "{role}"')
        admin.close()


@pytest.mark.slow
def test_dbt_build_on_postgres_gives_the_same_marts_as_duckdb(postgres_build, tiny_warehouse):
    dsn, _, env, vars_ = postgres_build
    duck = duckdb.connect(str(tiny_warehouse.warehouse), read_only=True)
    pg = psycopg2.connect(dsn)
    try:
        marts = [
            r[0]
            for r in duck.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'marts' order by 1"
            ).fetchall()
        ]
        assert len(marts) > 20
        with pg.cursor() as cur:
            cur.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            )
            assert {r[0] for r in cur.fetchall()} == set(marts)
            different = []
            for table in marts:
                if table in RUN_DEPENDENT_MARTS:
                    continue
                columns = [
                    r[0]
                    for r in duck.execute(
                        "select column_name from information_schema.columns "
                        "where table_schema = 'marts' and table_name = ? "
                        "order by ordinal_position",
                        [table],
                    ).fetchall()
                ]
                select = ", ".join(f'"{c}"' for c in columns)
                expected = duck.execute(f'select {select} from marts."{table}"').fetchall()
                cur.execute(f'select {select} from marts."{table}"')
                actual = cur.fetchall()
                if not same_rows(actual, expected):
                    different.append(
                        f"{table}: {len(actual)} rows on PostgreSQL, {len(expected)} on DuckDB"
                    )
            assert not different, different
            # the PostgreSQL build recorded its own run results (on-run-end hook)
            cur.execute(
                "select count(*), min(test_pass_rate), min(data_accuracy_rate) "
                "from marts.fct_data_quality_scorecard where target_name = 'postgres'"
            )
            runs, pass_rate, accuracy = cur.fetchone()
            assert runs >= 1 and 0.99 < pass_rate <= 1 and 0.99 < accuracy <= 1
        pg.commit()
    finally:
        pg.close()
        duck.close()

    # the incremental models' second run (the incremental branch on PostgreSQL) changes nothing
    rerun = dbt_pg(["run", "--select", "config.materialized:incremental", "--vars", vars_], env)
    assert rerun.returncode == 0, rerun.stdout[-4000:]
    pg = psycopg2.connect(dsn)
    try:
        with pg.cursor() as cur:
            cur.execute(
                "select count(*), count(distinct trade_id) from intermediate.int_trades_valued"
            )
            total, distinct = cur.fetchone()
            assert total == distinct > 0
        pg.commit()
    finally:
        pg.close()


@pytest.mark.slow
def test_a_daily_runs_integrity_tests_pass_on_postgres(postgres_build):
    """The windowed SQL of a daily run's financial-integrity tests (macros/test_window.sql:
    the last day, each ledger's first row checked against its older predecessor), and of the
    ledger checks they read (models/intermediate/integrity, rebuilt with the window)."""
    _, _, env, vars_ = postgres_build
    daily_vars = json.dumps({**json.loads(vars_), "test_days": 1})
    daily = dbt_pg(
        [
            "build",
            "--select",
            "tag:financial_integrity",
            *EXCLUDE_UNIT_TESTS,
            "--vars",
            daily_vars,
        ],
        env,
    )
    assert daily.returncode == 0, daily.stdout[-4000:]
    assert re.search(r"PASS=([1-9]\d*)", daily.stdout), daily.stdout[-4000:]


@pytest.mark.slow
def test_bi_role_reads_the_marts_only(postgres_build):
    dsn, role, _, _ = postgres_build
    con = psycopg2.connect(dsn)
    try:
        with con.cursor() as cur:
            cur.execute("select rolcanlogin from pg_roles where rolname = %s", [role])
            assert cur.fetchone() == (False,)  # NOLOGIN: granted to a BI tool's login
            cur.execute(f'set role "{role}"')
            cur.execute("select count(*) from marts.fct_daily_exchange_kpis")
            assert cur.fetchone()[0] > 0
            cur.execute("select count(*) from marts.dim_users")
            assert cur.fetchone()[0] > 0
        con.commit()
        for relation in (
            "raw.users",
            "staging.stg_exchange__users",
            "intermediate.int_trades_valued",
            "reference.stablecoins",
        ):
            with con.cursor() as cur:
                cur.execute(f'set role "{role}"')
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cur.execute(f"select count(*) from {relation}")
            con.rollback()
        with con.cursor() as cur:
            cur.execute(f'set role "{role}"')
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute("create table marts.not_allowed (x int)")
        con.rollback()
    finally:
        con.close()


@pytest.mark.slow
def test_dim_users_hashes_emails_with_the_session_key(postgres_build):
    dsn, _, env, vars_ = postgres_build
    con = psycopg2.connect(dsn)
    try:
        with con.cursor() as cur:
            cur.execute("select count(*) from marts.dim_users where email_hash !~ '^[0-9a-f]{64}$'")
            assert cur.fetchone() == (0,)
            cur.execute(
                "select count(*) from information_schema.columns where table_schema = 'marts' "
                "and column_name in ('email', 'ip_address')"
            )
            assert cur.fetchone() == (0,)
        con.commit()
    finally:
        con.close()
    # without the key in the session the run stops at once, saying how to pass it
    no_key = dict(env)
    no_key.pop("PGOPTIONS", None)
    done = dbt_pg(["run", "--select", "dim_user_tiers", "--vars", vars_], no_key)
    assert done.returncode != 0
    assert "PGOPTIONS" in done.stdout and "exchange.pii_hash_key" in done.stdout


def test_relation_and_unit_test_names_fit_postgres(tmp_path):
    """PostgreSQL truncates nothing: a relation (and a unit test, which dbt builds as a
    relation) named longer than 63 characters fails there, though DuckDB accepts it."""
    env = dict(
        os.environ,
        DO_NOT_TRACK="1",
        DBT_TARGET_PATH=str(tmp_path / "target"),
        DBT_LOG_PATH=str(tmp_path / "logs"),
        DBT_PROFILES_DIR=str(REPO),
    )
    done = subprocess.run(
        [str(BIN / "dbt"), "parse", "--target", "postgres", "--quiet"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    too_long = [
        f"{n['original_file_path']}: {n.get('alias') or n['name']}"
        for n in [*manifest["nodes"].values(), *manifest.get("unit_tests", {}).values()]
        if n["resource_type"] in ("model", "seed", "snapshot", "unit_test")
        and len(n.get("alias") or n["name"]) > 63
    ]
    assert not too_long, too_long
