"""The Dagster production path from the command line: every documented job command on the tiny
scale (with and without a partition), the partition start (setting, data, no data), the
schedules with a clock before the data, the instance settings and PostgreSQL run storage.

The job commands are the ones docs/deployment.md shows, run as subprocesses against a private
landing directory, warehouse and DAGSTER_HOME.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from tests.python.conftest import project_env

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

TRADES_HEADER = (
    "trade_id,order_id,user_id,pair_id,side,quantity,price,fee,fee_asset,is_maker,executed_at"
)


# --------------------------------------------------------------------------------------
# the partition start


def test_partitions_start_from_the_setting(monkeypatch):
    from orchestration.partitions import partitions_start

    monkeypatch.setenv("EXCHANGE_PARTITIONS_START", "2025-01-15")
    assert partitions_start() == "2025-01-15"

    monkeypatch.setenv("EXCHANGE_PARTITIONS_START", "15/01/2025")
    with pytest.raises(
        ValueError, match="EXCHANGE_PARTITIONS_START='15/01/2025' is not a valid partitions start"
    ):
        partitions_start()


def _trades_csv(path: Path, *executed_at: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [
        f"t{i},o{i},u1,BTC-USDT,buy,1,100,0.1,USDT,true,{moment}"
        for i, moment in enumerate(executed_at)
    ]
    path.write_text("\n".join([TRADES_HEADER, *rows]) + "\n")


def test_partitions_start_from_the_landed_data(tmp_path, monkeypatch):
    from orchestration.partitions import first_landed_event_day, partitions_start

    landing = tmp_path / "landing"
    _trades_csv(landing / "trades" / "a.csv", "2026-03-04T10:00:00Z", "2026-03-02T23:59:59Z")
    _trades_csv(landing / "trades" / "b.csv", "2026-03-09T00:00:00Z")
    # Reference tables carry older dates that are not activity: they do not move the start.
    (landing / "trading_pairs").mkdir()
    (landing / "trading_pairs" / "p.csv").write_text(
        "pair_id,base_asset,quote_asset,created_at\nBTC-USDT,BTC,USDT,2019-07-01T00:00:00Z\n"
    )
    # A file that does not read is skipped (the loaders report it), not an error here.
    (landing / "trades" / "broken.parquet").write_bytes(b"not parquet")
    assert first_landed_event_day(landing) == dt.date(2026, 3, 2)

    monkeypatch.delenv("EXCHANGE_PARTITIONS_START", raising=False)
    monkeypatch.setenv("EXCHANGE_LANDING_DIR", str(landing))
    monkeypatch.setenv("EXCHANGE_WAREHOUSE", str(tmp_path / "none.duckdb"))
    assert partitions_start(today=dt.date(2026, 12, 1)) == "2026-03-02"
    # A clock behind the data: the start is today (the first partition holds everything older,
    # the last everything newer).
    assert partitions_start(today=dt.date(2026, 1, 1)) == "2026-01-01"


def test_partitions_start_from_the_raw_tables_first(tmp_path, monkeypatch):
    from orchestration.partitions import first_raw_event_day, partitions_start

    warehouse = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("create schema raw")
    con.execute("create table raw.trades (trade_id varchar, executed_at varchar)")
    con.execute(
        "insert into raw.trades values ('a', '2026-05-07 08:00:00'), ('b', 'not a time'), "
        "('c', null)"
    )
    con.execute("create table raw.orders (order_id varchar, created_at timestamp)")
    con.execute("insert into raw.orders values ('o', '2026-05-06 23:00:00')")
    con.close()
    assert first_raw_event_day(warehouse) == dt.date(2026, 5, 6)

    landing = tmp_path / "landing"
    _trades_csv(landing / "trades" / "a.csv", "2026-01-01T00:00:00Z")
    monkeypatch.delenv("EXCHANGE_PARTITIONS_START", raising=False)
    monkeypatch.setenv("EXCHANGE_LANDING_DIR", str(landing))
    monkeypatch.setenv("EXCHANGE_WAREHOUSE", str(warehouse))
    # The loaded tables answer first (the landing files may since have been archived).
    assert partitions_start(today=dt.date(2026, 12, 1)) == "2026-05-06"


def test_partitions_start_without_data_is_today(tmp_path, monkeypatch):
    from orchestration.partitions import (
        first_landed_event_day,
        first_raw_event_day,
        partitions_start,
    )

    monkeypatch.delenv("EXCHANGE_PARTITIONS_START", raising=False)
    monkeypatch.setenv("EXCHANGE_LANDING_DIR", str(tmp_path / "no_landing"))
    monkeypatch.setenv("EXCHANGE_WAREHOUSE", str(tmp_path / "no_warehouse.duckdb"))
    assert first_landed_event_day(tmp_path / "no_landing") is None
    assert first_raw_event_day(tmp_path / "no_warehouse.duckdb") is None
    (tmp_path / "empty_landing" / "trades").mkdir(parents=True)
    assert first_landed_event_day(tmp_path / "empty_landing") is None
    assert partitions_start(today=dt.date(2026, 12, 5)) == "2026-12-05"


# --------------------------------------------------------------------------------------
# schedules and sensors


def test_schedules_never_raise_with_a_clock_before_the_data():
    from orchestration.definitions import defs
    from orchestration.schedules import full_range_tags, hourly_partition_key

    partitions = dg.DailyPartitionsDefinition(
        start_date="2026-10-22", timezone="UTC", end_offset=1, fmt="%Y-%m-%d"
    )
    early = dt.datetime(2026, 1, 1, 1, 30, tzinfo=dt.UTC)
    assert full_range_tags(early, partitions) == {}  # the job's own tags: all history
    assert hourly_partition_key(early, partitions) is None  # skips: no day in progress
    later = dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC)
    assert full_range_tags(later, partitions) == {
        "dagster/asset_partition_range_start": "2026-10-22",
        "dagster/asset_partition_range_end": "2026-10-25",
    }

    # The real schedules, evaluated at a moment long before any partition.
    repository = defs.get_repository_def()
    results = {}
    for name in ("daily_full_build_schedule", "hourly_incremental_schedule"):
        schedule = repository.get_schedule_def(name)
        with dg.build_schedule_context(
            scheduled_execution_time=early, repository_def=repository
        ) as context:
            result = schedule.evaluate_tick(context)
        results[name] = result
    assert len(results["daily_full_build_schedule"].run_requests) == 1
    daily_tags = results["daily_full_build_schedule"].run_requests[0].tags
    assert "dagster/asset_partition_range_start" not in daily_tags  # the job's own tags
    hourly = results["hourly_incremental_schedule"]
    assert not hourly.run_requests
    assert "before the first daily partition" in hourly.skip_message


def test_landing_sensor_runs_by_default_and_the_rest_are_documented():
    from orchestration.definitions import defs

    sensors = {s.name: s for s in defs.sensors}
    assert sensors["landing_files_sensor"].default_status == dg.DefaultSensorStatus.RUNNING
    assert sensors["landing_freshness_sensor"].default_status == dg.DefaultSensorStatus.STOPPED
    guide = (REPO / "docs" / "deployment.md").read_text()
    for automation in [*defs.schedules, *defs.sensors]:
        assert automation.name in guide, automation.name
    for job in defs.jobs:
        assert f"-j {job.name}" in guide, job.name


# --------------------------------------------------------------------------------------
# the instance


def test_instance_settings_choose_postgres_only_with_the_variable(tmp_path, monkeypatch):
    from orchestration.instance import POSTGRES_URL_VARIABLE, write_dagster_home

    monkeypatch.delenv(POSTGRES_URL_VARIABLE, raising=False)
    settings = yaml.safe_load(write_dagster_home(tmp_path / "a").read_text())
    assert "storage" not in settings  # SQLite under DAGSTER_HOME
    assert settings["run_queue"]["tag_concurrency_limits"][0]["limit"] == 1

    monkeypatch.setenv(POSTGRES_URL_VARIABLE, "postgresql+psycopg2://dagster:secret@db:5432/d")
    text = write_dagster_home(tmp_path / "b").read_text()
    assert "secret" not in text  # the file names the variable, not the DSN
    assert yaml.safe_load(text)["storage"] == {
        "postgres": {"postgres_url": {"env": POSTGRES_URL_VARIABLE}}
    }

    # A URL without the installed driver is refused before Dagster fails on it at run time.
    monkeypatch.setenv(POSTGRES_URL_VARIABLE, "postgresql://dagster@db:5432/dagster")
    result = subprocess.run(
        [sys.executable, "-m", "orchestration.instance", "--home", str(tmp_path / "c")],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "must start with postgresql+psycopg2://" in result.stderr
    assert not (tmp_path / "c" / "dagster.yaml").exists()


# --------------------------------------------------------------------------------------
# the documented job commands, on the tiny scale


def _dagster(env: dict, *args: str) -> subprocess.CompletedProcess:
    command = [str(BIN / "dagster"), "job", "execute", "-m", "orchestration.definitions", *args]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(command)} exited {result.returncode}\n"
            f"--- stderr ---\n{result.stderr[-8000:]}"
        )
    return result


@pytest.fixture(scope="module")
def job_env(tmp_path_factory, tiny_landing) -> dict:
    root = tmp_path_factory.mktemp("dagster_jobs")
    home = root / "dagster_home"
    env = project_env(root, root / "warehouse.duckdb")
    env.update(
        EXCHANGE_LANDING_DIR=str(tiny_landing),
        EXCHANGE_REPORT_DIR=str(root / "reports"),
        DAGSTER_HOME=str(home),
    )
    env.pop("EXCHANGE_PARTITIONS_START", None)
    env.pop("EXCHANGE_DAGSTER_POSTGRES_URL", None)
    env.pop("DBT_TARGET_PATH", None)  # dagster-dbt gives every dbt call its own target path
    subprocess.run(
        [sys.executable, "-m", "orchestration.instance", "--home", str(home)],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
    )
    return env


def _marts(env: dict, sql: str):
    con = duckdb.connect(env["EXCHANGE_WAREHOUSE"], read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_every_documented_job_command_runs(job_env):
    # The daily full build without a partition: all history, the whole graph.
    result = _dagster(job_env, "-j", "daily_full_build")
    assert "RUN_SUCCESS" in result.stderr
    assert "Cannot access partition_key" not in result.stderr
    (days,) = _marts(job_env, "select count(distinct kpi_date) from marts.fct_daily_exchange_kpis")[
        0
    ]
    assert days > 1
    for table in ("fct_churn_predictions", "fct_revenue_forecast", "fct_churn_model_evaluation"):
        assert _marts(job_env, f"select count(*) from marts.{table}")[0][0] > 0, table
    assert list(Path(job_env["EXCHANGE_REPORT_DIR"]).glob("daily_report_*.md"))

    (last_day,) = _marts(job_env, "select max(kpi_date) from marts.fct_daily_exchange_kpis")[0]
    day = last_day.isoformat()
    # The daily build over one partition, and the hourly run of one partition.
    one_day = json.dumps(
        {"dagster/asset_partition_range_start": day, "dagster/asset_partition_range_end": day}
    )
    result = _dagster(job_env, "-j", "daily_full_build", "--tags", one_day)
    assert "RUN_SUCCESS" in result.stderr
    assert f'"min_date": "{day}"' in result.stderr
    result = _dagster(
        job_env, "-j", "hourly_incremental", "--tags", json.dumps({"dagster/partition": day})
    )
    assert "RUN_SUCCESS" in result.stderr
    # Without a partition the hourly run takes today's (past the data: builds nothing new).
    result = _dagster(job_env, "-j", "hourly_incremental")
    assert "RUN_SUCCESS" in result.stderr
    # Its dbt steps start from the parse the last run with the same vars kept
    # (orchestration/resources.py): dbt parses nothing again.
    assert "Unable to do partial parsing" not in result.stdout + result.stderr
    assert (
        _marts(job_env, "select count(distinct kpi_date) from marts.fct_daily_exchange_kpis")[0][0]
        == days
    )

    # The load job, as the landing sensor starts it (nothing new: every file is loaded).
    result = _dagster(job_env, "-j", "load_landing")
    assert "RUN_SUCCESS" in result.stderr


# --------------------------------------------------------------------------------------
# PostgreSQL run storage


def test_runs_are_stored_in_postgres_when_configured(postgres_database, job_env, tmp_path):
    import psycopg2
    from psycopg2.extensions import parse_dsn

    parts = parse_dsn(postgres_database)
    url = (
        f"postgresql+psycopg2://{parts.get('user', 'postgres')}@{parts.get('host', '127.0.0.1')}:"
        f"{parts.get('port', '5432')}/{parts['dbname']}"
    )
    home = tmp_path / "dagster_home"
    env = dict(job_env, DAGSTER_HOME=str(home), EXCHANGE_DAGSTER_POSTGRES_URL=url)
    env["EXCHANGE_WAREHOUSE"] = str(tmp_path / "warehouse.duckdb")
    subprocess.run(
        [sys.executable, "-m", "orchestration.instance", "--home", str(home)],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
    )
    result = _dagster(env, "-j", "load_landing")
    assert "RUN_SUCCESS" in result.stderr
    assert not (home / "history").exists()  # nothing in SQLite

    con = psycopg2.connect(postgres_database)
    try:
        with con.cursor() as cur:
            cur.execute("select pipeline_name, status from runs")
            assert cur.fetchall() == [("load_landing", "SUCCESS")]
            cur.execute("select count(*) from event_logs where dagster_event_type is not null")
            assert cur.fetchone()[0] > 10  # the run's events, not only its record
    finally:
        con.close()


def test_a_missing_postgres_server_is_a_clear_error(job_env, tmp_path):
    home = tmp_path / "dagster_home"
    env = dict(
        job_env,
        DAGSTER_HOME=str(home),
        EXCHANGE_DAGSTER_POSTGRES_URL="postgresql+psycopg2://postgres@127.0.0.1:1/none",
    )
    subprocess.run(
        [sys.executable, "-m", "orchestration.instance", "--home", str(home)],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
    )
    command = [
        str(BIN / "dagster"),
        "job",
        "execute",
        "-m",
        "orchestration.definitions",
        "-j",
        "load_landing",
    ]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "Connection refused" in result.stderr or "could not connect" in result.stderr


# --------------------------------------------------------------------------------------
# make pipeline's runner: a line per step and a summary


def test_pipeline_runner_prints_a_line_per_step_and_a_summary(
    tmp_path, monkeypatch, capsys, tiny_landing
):
    from orchestration.assets import TABLE_KEYS
    from orchestration.pipeline import main

    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # an in-memory instance
    monkeypatch.setenv("EXCHANGE_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))

    # A landing directory with one table only: the other tables' blocking gates fail, and the
    # run says so in a line and in the summary, and exits 1. Run as `make pipeline` runs it
    # (`python -m`): the step lines reach its standard output, not the steps' output file.
    landing = tmp_path / "landing"
    _trades_csv(landing / "trades" / "a.csv", "2026-03-04T10:00:00Z")
    monkeypatch.setenv("EXCHANGE_LANDING_DIR", str(landing))
    output = tmp_path / "output.log"
    command = [sys.executable, "-m", "orchestration.pipeline", "--job", "load_landing"]
    done = subprocess.run(
        [*command, "--output", str(output)], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 1, done.stderr[-3000:]
    out = done.stdout.splitlines()
    assert any(" landing_tables done: " in line for line in out), out
    assert any("raw_table_expectations FAILED: " in line for line in out), out
    assert any("blocking asset checks failed" in line for line in out), out
    assert "  failed steps: raw_table_expectations" in out, out

    # The tiny scale's landing directory loads and passes its gates.
    monkeypatch.setenv("EXCHANGE_WAREHOUSE", str(tmp_path / "tiny.duckdb"))
    monkeypatch.setenv("EXCHANGE_LANDING_DIR", str(tiny_landing))
    assert main(["--job", "load_landing", "--output", str(output)]) == 0
    out = capsys.readouterr().out.splitlines()
    step_lines = [line for line in out if " landing_tables " in line]
    assert len(step_lines) == 2, out  # started, done
    assert f"landing_tables done: {len(TABLE_KEYS)} assets" in step_lines[1], out
    summary = [line for line in out if line.startswith("Dagster job load_landing: ")]
    assert summary and summary[0].startswith("Dagster job load_landing: succeeded in "), out
    assert f"{len(TABLE_KEYS)} assets materialized" in summary[0]
    assert not [line for line in out if " - dagster - " in line]  # not Dagster's event log
    assert f"  dbt's and the loaders' own output: {output}" in out
    assert output.exists()  # dbt's log lines go there (the load job runs no dbt)
    con = duckdb.connect(str(tmp_path / "tiny.duckdb"), read_only=True)
    assert con.execute("select count(*) from raw.trades").fetchone()[0] > 0
    con.close()

    # A job that does not exist is an error naming it.
    with pytest.raises(Exception, match="no_such_job"):
        main(["--job", "no_such_job"])
