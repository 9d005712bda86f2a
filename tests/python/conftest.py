"""Shared fixtures: one tiny warehouse built the way a user builds it (simulate → load →
dbt build), reused by every test that reads marts."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

# The Dagster code location reads its first daily partition when it is imported
# (orchestration/partitions.py): the in-process tests use a fixed one before every day they
# name. The start derived from data is tested in test_orchestration_jobs.py, whose subprocesses
# run without it.
os.environ.setdefault("EXCHANGE_PARTITIONS_START", "2026-08-01")
# The landing gate's Great Expectations Data Docs go to a folder of the test session, not the
# checkout's data/gx_docs.
os.environ.setdefault("EXCHANGE_GX_DOCS_DIR", tempfile.mkdtemp(prefix="exchange_gx_docs_"))


@dataclass(frozen=True)
class BuiltWarehouse:
    root: Path
    landing: Path
    warehouse: Path
    env: dict


def project_env(root: Path, warehouse: Path) -> dict:
    """Environment for dbt and the loaders pointed at a private warehouse file."""
    env = dict(os.environ)
    env.update(
        EXCHANGE_WAREHOUSE=str(warehouse),
        EXCHANGE_DUCKDB_TEMP_DIR=str(root / "duckdb_tmp"),
        EXCHANGE_DUCKDB_MEMORY_LIMIT="2GB",
        DBT_TARGET_PATH=str(root / "dbt_target"),
        DBT_LOG_PATH=str(root / "dbt_logs"),
        DBT_PROFILES_DIR=str(REPO),
        DO_NOT_TRACK="1",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def run(args: list[str], env: dict, cwd: Path = REPO) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, args))} exited {result.returncode}\n"
            f"--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-4000:]}"
        )
    return result


def dbt(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return run([str(BIN / "dbt"), *args], env)


@pytest.fixture(scope="session")
def tiny_landing(tmp_path_factory) -> Path:
    landing = tmp_path_factory.mktemp("tiny_landing") / "landing"
    run(
        [
            sys.executable,
            "-m",
            "simulator",
            "--scale",
            "tiny",
            "--out",
            str(landing),
            "--quiet",
        ],
        dict(os.environ),
    )
    return landing


@pytest.fixture(scope="session")
def tiny_warehouse(tmp_path_factory, tiny_landing) -> BuiltWarehouse:
    """The tiny scale, simulated, loaded and built with `dbt build` (every dbt test passes)."""
    root = tmp_path_factory.mktemp("tiny_warehouse")
    warehouse = root / "warehouse.duckdb"
    env = project_env(root, warehouse)
    run(
        [
            sys.executable,
            "-m",
            "ingestion.loaders",
            "--landing",
            str(tiny_landing),
            "--warehouse",
            str(warehouse),
        ],
        env,
    )
    dbt(["build"], env)
    return BuiltWarehouse(root, tiny_landing, warehouse, env)


# --------------------------------------------------------------------------------------
# PostgreSQL: one rule for every test that needs the server

POSTGRES_DSN_ENV = "WAREHOUSE_TEST_POSTGRES_DSN"
DEFAULT_TEST_POSTGRES_DSN = "postgresql://postgres@127.0.0.1:5432/test"


def _running_under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    """The PostgreSQL server of the tests: $WAREHOUSE_TEST_POSTGRES_DSN, default
    postgresql://postgres@127.0.0.1:5432/test. When it cannot be reached the test is skipped
    with the reason, except under CI (CI=true), where a missing server is a failure."""
    import psycopg2

    from ingestion.postgres.connection import redact

    dsn = os.environ.get(POSTGRES_DSN_ENV) or DEFAULT_TEST_POSTGRES_DSN
    try:
        psycopg2.connect(dsn, connect_timeout=5).close()
    except psycopg2.Error as e:
        reason = (
            f"PostgreSQL is not reachable at {redact(dsn)} (set {POSTGRES_DSN_ENV}): "
            f"{str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}"
        )
        if _running_under_ci():
            pytest.fail(f"{reason}. CI=true: the PostgreSQL tests must run in CI.", pytrace=False)
        pytest.skip(reason)
    return dsn


def _unique_name(prefix: str) -> str:
    import uuid

    return f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def postgres_schema(postgres_dsn):
    """A schema of its own for one test, dropped afterwards: (dsn, schema)."""
    import psycopg2

    schema = _unique_name("test")
    yield postgres_dsn, schema
    con = psycopg2.connect(postgres_dsn)
    try:
        with con.cursor() as cur:
            cur.execute(f'drop schema if exists "{schema}" cascade')
        con.commit()
    finally:
        con.close()


@pytest.fixture(scope="module")
def postgres_database(postgres_dsn):
    """A database of its own for a test module (dbt builds use fixed schema names: raw,
    staging, marts...), dropped afterwards. Yields its DSN."""
    import psycopg2
    from psycopg2.extensions import make_dsn, parse_dsn

    name = _unique_name("crypto_exchange_test")
    admin = psycopg2.connect(postgres_dsn)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'create database "{name}"')
    try:
        yield make_dsn(**(parse_dsn(postgres_dsn) | {"dbname": name}))
    finally:
        with admin.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')
        admin.close()
