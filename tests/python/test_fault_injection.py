"""Fault injection against real DuckDB files and a real PostgreSQL server (docs/reliability.md).

A load (or an extract) is killed with SIGKILL at each point of a file's life, or at random
moments, then run again: the warehouse must equal one clean load of the same files, row for row
(nothing lost, nothing twice), and the landing folder must look the same (rejected files moved
aside once). Also: content delivered twice in one run, two real loads racing for one warehouse,
a PostgreSQL connection dropped and the extract killed mid-run, and a full disk or a blocked
``_rejected/`` folder. test_loaders.py has the simpler cases (a kill just before a commit, the
same files loaded twice, a file re-sent under another name, lock holders).

Issue 18's hostile values through the whole pipeline (load, dbt build, export): a far-future
row in raw cannot blow up a date or hour spine, quarantined e-mails and IPs never reach the
analysts' staging view in clear, and the documented SAR export never writes a live formula.

The pauses are injected by the tests: ``tests/python/pausing_loader.py`` replaces the
loader's no-op ``at_checkpoint`` (ingestion/loaders/files.py) in the process it starts.
"""

from __future__ import annotations

import csv
import datetime as dt
import errno
import gzip
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from ingestion.contract import TABLES
from ingestion.loaders import LoaderSettings, load_landing
from ingestion.loaders import files as files_module

from .bad_input_corpus import csv_bytes, jsonl_bytes, trade
from .conftest import BIN, REPO, project_env

FAST = LoaderSettings(lock_timeout=5, memory_limit="1GB")
TRADE_COLUMNS = TABLES["trades"].column_names


# --------------------------------------------------------------------------------------
# helpers


def write_landing(landing: Path) -> Path:
    """Five trade files: good rows, a bad row in some, one unreadable file (rejected)."""
    folder = landing / "trades"
    folder.mkdir(parents=True)
    (folder / "a.csv").write_bytes(
        csv_bytes([trade(i) for i in range(0, 150)] + [trade(150, side="hold")])
    )
    (folder / "b.jsonl").write_bytes(
        jsonl_bytes([trade(i) for i in range(200, 350)] + [trade(350, quantity="-1")])
    )
    (folder / "c_garbage.csv").write_bytes(bytes(range(256)) * 8)
    (folder / "d.csv.gz").write_bytes(gzip.compress(csv_bytes([trade(i) for i in range(400, 550)])))
    (folder / "e.csv").write_bytes(csv_bytes([trade(i) for i in range(600, 750)]))
    return landing


def clean_copy(landing: Path, target: Path, warehouse: Path) -> Path:
    """A copy of ``landing`` loaded once, undisturbed: what every faulty run must end as."""
    shutil.copytree(landing, target)
    load_landing(target, warehouse, "trades", settings=FAST)
    return target


def snapshot(warehouse: Path) -> dict[str, list[tuple]]:
    """Everything a load leaves in the warehouse, minus what differs between runs."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        columns = ", ".join(f'"{c}"' for c in [*TRADE_COLUMNS, "_source_file", "_row_number"])
        return {
            "trades": con.execute(
                f"SELECT {columns} FROM raw.trades ORDER BY _source_file, _row_number"
            ).fetchall(),
            "quarantine": con.execute(
                "SELECT table_name, source_file, row_number, reason, record FROM raw._quarantine "
                "ORDER BY ALL"
            ).fetchall(),
            "files": con.execute(
                "SELECT table_name, source_file, file_sha256, file_bytes, rows_loaded, "
                "rows_quarantined, status FROM raw._loaded_files ORDER BY ALL"
            ).fetchall(),
        }
    finally:
        con.close()


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def assert_as_one_clean_load(warehouse: Path, landing: Path, clean_wh: Path, clean: Path):
    got = snapshot(warehouse)
    assert got == snapshot(clean_wh)
    ids = [row[0] for row in got["trades"]]
    assert len(ids) == len(set(ids)), "a row loaded twice"
    assert tree(landing) == tree(clean), "the landing folder differs from a clean load's"


def pausing(module: str, pause: str, points: str) -> list[str]:
    """The command line that runs ``module``, pausing ``pause`` seconds at ``points``."""
    if not pause:
        return [sys.executable, "-m", module]
    return [
        sys.executable,
        "-m",
        "tests.python.pausing_loader",
        "--pause",
        pause,
        "--at",
        points,
        module,
    ]


def loader_process(landing: Path, warehouse: Path, pause: str, points: str, *extra: str):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [
            *pausing("ingestion.loaders", pause, points),
            "--landing",
            str(landing),
            "--warehouse",
            str(warehouse),
            "--tables",
            "trades",
            *extra,
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_at_pause(process: subprocess.Popen, nth: int, timeout: float = 30) -> list[str]:
    """SIGKILL the loader as it pauses for the ``nth`` time; returns the pause lines."""
    pauses: list[str] = []
    deadline = time.monotonic() + timeout
    while len(pauses) < nth and time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        if "pausing" in line:
            pauses.append(line.strip())
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert len(pauses) == nth, f"the loader did not pause {nth} times: {pauses}"
    return pauses


# --------------------------------------------------------------------------------------
# SIGKILL


@pytest.mark.parametrize(
    ("point", "nth", "where"),
    [
        ("checked", 2, "trades/b.jsonl"),  # read and checked, nothing written
        ("inserted", 2, "trades/b.jsonl"),  # mid-file: raw rows in, quarantine rows not yet
        ("committed", 2, "trades/b.jsonl"),  # between files, before any checkpoint (WAL only)
        ("rejected", 1, "trades/c_garbage.csv"),  # rejection recorded, file not moved yet
    ],
)
def test_sigkill_at_a_pause_point_then_rerun_equals_one_clean_load(
    tmp_path: Path, point: str, nth: int, where: str
):
    landing = write_landing(tmp_path / "landing")
    clean = clean_copy(landing, tmp_path / "clean", tmp_path / "clean.duckdb")
    warehouse = tmp_path / "warehouse.duckdb"

    pauses = kill_at_pause(loader_process(landing, warehouse, "0.5", point), nth)
    assert where in pauses[-1] and f"at {point}" in pauses[-1]

    partial = snapshot(warehouse)
    committed = {row[1] for row in partial["files"]}
    expected_committed = {
        "checked": {"trades/a.csv"},
        "inserted": {"trades/a.csv"},
        "committed": {"trades/a.csv", "trades/b.jsonl"},
        "rejected": {"trades/a.csv", "trades/b.jsonl", "trades/c_garbage.csv"},
    }[point]
    assert committed == expected_committed  # a file is all in or all out
    assert {row[-2] for row in partial["trades"]} <= committed
    if point == "rejected":  # recorded, still in place: the re-run must move it
        assert (landing / "trades" / "c_garbage.csv").exists()

    rerun = load_landing(landing, warehouse, "trades", settings=FAST)
    assert rerun.files_skipped == len(committed) - (point == "rejected")
    assert_as_one_clean_load(warehouse, landing, tmp_path / "clean.duckdb", clean)


def test_sigkill_at_random_moments_then_rerun_equals_one_clean_load(tmp_path: Path):
    """Three runs killed at seeded random moments (pauses at every point slow the loader so
    the kills land inside it), then a last run: still exactly one clean load."""
    landing = write_landing(tmp_path / "landing")
    clean = clean_copy(landing, tmp_path / "clean", tmp_path / "clean.duckdb")
    warehouse = tmp_path / "warehouse.duckdb"
    points = "checked,inserted,before_commit,committed,rejected"
    rng = random.Random(20260101)
    kills = 0
    for _ in range(3):
        process = loader_process(landing, warehouse, "0.3", points, "-q")
        time.sleep(rng.uniform(0.8, 2.0))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait(timeout=30)
        process.stderr.close()
    assert kills >= 2, "the loader finished before it could be killed: slow it down"
    load_landing(landing, warehouse, "trades", settings=FAST)
    assert_as_one_clean_load(warehouse, landing, tmp_path / "clean.duckdb", clean)


# --------------------------------------------------------------------------------------
# the same content twice


def test_same_content_twice_in_one_run_loads_once(tmp_path: Path):
    """Two new files with the same bytes in one run: the second is recorded as a duplicate.
    The content hash is of the bytes: the same rows re-compressed are another file, loaded
    again; raw keeps both copies and staging's latest_version keeps one per key."""
    landing = tmp_path / "landing"
    folder = landing / "trades"
    folder.mkdir(parents=True)
    content = csv_bytes([trade(i) for i in range(20)])
    (folder / "2026-01-01.csv").write_bytes(content)
    (folder / "2026-01-01-copy.csv").write_bytes(content)
    (folder / "2026-01-01-regzipped.csv.gz").write_bytes(gzip.compress(content))
    warehouse = tmp_path / "warehouse.duckdb"

    report = load_landing(landing, warehouse, "trades", settings=FAST)

    status = {f.source_file: f.status for f in report.tables["trades"].files}
    assert status == {
        "trades/2026-01-01-copy.csv": "loaded",
        "trades/2026-01-01-regzipped.csv.gz": "loaded",
        "trades/2026-01-01.csv": "duplicate",
    }
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert con.execute(
            "SELECT count(*), count(DISTINCT trade_id) FROM raw.trades"
        ).fetchone() == (40, 20)
        # the rule of staging (macros/latest_version.sql): one row per key
        latest = con.execute(
            "SELECT count(*), count(DISTINCT _source_file) FROM (SELECT * FROM raw.trades "
            "QUALIFY row_number() OVER (PARTITION BY trade_id "
            "ORDER BY _loaded_at DESC, _source_file DESC, _row_number DESC) = 1)"
        ).fetchone()
        assert latest == (20, 1)
    finally:
        con.close()


# --------------------------------------------------------------------------------------
# two loads at once


def test_two_real_loads_at_once_one_waits_one_fails_clearly(tmp_path: Path):
    landing = write_landing(tmp_path / "landing")
    clean = clean_copy(landing, tmp_path / "clean", tmp_path / "clean.duckdb")
    warehouse = tmp_path / "warehouse.duckdb"

    first = loader_process(landing, warehouse, "0.3", "before_commit")
    line = ""
    while "pausing" not in line:  # the first load holds the lock and is inside a transaction
        line = first.stderr.readline()
        assert line, "the first load ended early"
    impatient = loader_process(landing, warehouse, "", "", "--lock-timeout", "0")
    patient = loader_process(landing, warehouse, "", "", "--lock-timeout", "60")
    _, impatient_err = impatient.communicate(timeout=30)
    # read the first load's stderr to its end (it pauses at each file; a closed pipe would
    # fail its next pause line)
    _, first_err = first.communicate(timeout=60)
    assert first.returncode == 0, first_err
    _, patient_err = patient.communicate(timeout=60)

    assert impatient.returncode == 3, impatient_err
    assert "is locked by another load (pid" in impatient_err
    assert patient.returncode == 0, patient_err
    assert "Traceback" not in patient_err
    assert_as_one_clean_load(warehouse, landing, tmp_path / "clean.duckdb", clean)


# --------------------------------------------------------------------------------------
# disk full, no permission


def test_a_failed_move_to_rejected_is_reported_and_retried(tmp_path: Path, monkeypatch, caplog):
    """The move of an unreadable file fails (disk full): the load says so, loads the rest,
    leaves the file in place, and the next run moves it. Nothing is lost."""
    landing = write_landing(tmp_path / "landing")
    clean = clean_copy(landing, tmp_path / "clean", tmp_path / "clean.duckdb")
    warehouse = tmp_path / "warehouse.duckdb"
    real_replace = os.replace

    def disk_full(src, dst):
        if "_rejected" in str(dst):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))
        return real_replace(src, dst)

    monkeypatch.setattr(files_module.os, "replace", disk_full)
    with caplog.at_level("ERROR", logger="ingestion.loaders"):
        report = load_landing(landing, warehouse, "trades", settings=FAST)
    result = next(f for f in report.tables["trades"].files if f.source_file.endswith("garbage.csv"))
    assert result.status == "rejected"
    assert "NOT moved to _rejected/trades/c_garbage.csv" in result.message
    assert "No space left on device" in result.message
    assert "could not move rejected file" in caplog.text
    assert (landing / "trades" / "c_garbage.csv").exists()
    assert report.rows_loaded == 600  # the other files loaded

    # a file where the _rejected folder should be: a real OSError, no patch
    monkeypatch.setattr(files_module.os, "replace", real_replace)
    shutil.rmtree(landing / "_rejected")
    (landing / "_rejected").write_text("not a folder")
    blocked = load_landing(landing, warehouse, "trades", settings=FAST)
    result = next(f for f in blocked.tables["trades"].files if f.status == "rejected")
    assert result.message.startswith("rejected earlier; NOT moved") and "Error" in result.message
    assert (landing / "trades" / "c_garbage.csv").exists()

    (landing / "_rejected").unlink()
    fixed = load_landing(landing, warehouse, "trades", settings=FAST)
    assert [f.message for f in fixed.tables["trades"].files if f.status == "rejected"] == [
        "rejected earlier; moved to _rejected/trades/c_garbage.csv"
    ]
    assert_as_one_clean_load(warehouse, landing, tmp_path / "clean.duckdb", clean)


def test_disk_full_inside_a_file_rolls_it_back_and_the_cli_says_so(
    tmp_path: Path, monkeypatch, capsys
):
    """An I/O error while a file's rows are being written (here: injected after its raw rows,
    before its quarantine rows) stops the load with a clear error; the file is rolled back as
    a whole and the next run loads it."""
    from ingestion.loaders.cli import main as cli_main

    landing = write_landing(tmp_path / "landing")
    clean = clean_copy(landing, tmp_path / "clean", tmp_path / "clean.duckdb")
    warehouse = tmp_path / "warehouse.duckdb"
    no_op = files_module.at_checkpoint

    def full_at_second_file(point: str, rel: str) -> None:
        if point == "inserted" and rel == "trades/b.jsonl":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(warehouse))

    monkeypatch.setattr(files_module, "at_checkpoint", full_at_second_file)
    code = cli_main(["--landing", str(landing), "--warehouse", str(warehouse), "-q"])
    err = capsys.readouterr().err
    assert code == 1
    assert "the load stopped: OSError: [Errno 28] No space left on device" in err
    assert "run the same command again" in err
    partial = snapshot(warehouse)
    assert {row[1] for row in partial["files"]} == {"trades/a.csv"}
    assert not [r for r in partial["trades"] if r[-2] == "trades/b.jsonl"]

    monkeypatch.setattr(files_module, "at_checkpoint", no_op)
    assert cli_main(["--landing", str(landing), "--warehouse", str(warehouse), "-q"]) == 0
    assert_as_one_clean_load(warehouse, landing, tmp_path / "clean.duckdb", clean)


# --------------------------------------------------------------------------------------
# PostgreSQL: connection dropped, extract killed, then resumed


def _pg(dsn: str, sql: str, params=None) -> list[tuple]:
    import psycopg2

    con = psycopg2.connect(dsn)
    try:
        with con.cursor() as cur:
            cur.execute(sql, params)
            rows = cur.fetchall() if cur.description else []
        con.commit()
        return rows
    finally:
        con.close()


# rows per extract batch: five batches fit in the tiny scale's trades (about 1,000 fills)
EXTRACT_BATCH = 180


def _extract_process(dsn: str, schema: str, warehouse: Path, pause: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            *pausing("ingestion.postgres", pause, "before_commit"),
            "extract",
            "--dsn",
            dsn,
            "--schema",
            schema,
            "--warehouse",
            str(warehouse),
            "--tables",
            "trades",
            "--batch-size",
            str(EXTRACT_BATCH),
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.postgres
def test_extract_with_a_dropped_connection_and_a_sigkill_resumes_exactly(
    postgres_schema, tiny_landing: Path, tmp_path: Path
):
    """A real extract process: its PostgreSQL connection is terminated by the server
    (pg_terminate_backend) while it loads its second batch, it reconnects and goes on, and is
    then SIGKILLed inside the DuckDB transaction of its fourth batch. The next run resumes:
    raw.trades holds every row of the source exactly once, as a clean extract does."""
    from ingestion.postgres import extract, populate_oltp

    dsn, schema = postgres_schema
    landing = tmp_path / "landing"
    shutil.copytree(tiny_landing / "trades", landing / "trades")
    populate_oltp(landing, dsn, schema, ["trades"])
    source = _pg(dsn, f'select trade_id::text from "{schema}".trades')
    assert len(source) > 4 * EXTRACT_BATCH, "too few rows for five batches"

    warehouse = tmp_path / "wh" / "warehouse.duckdb"
    process = _extract_process(dsn, schema, warehouse, "0.4")
    pauses, terminated = 0, []
    deadline = time.monotonic() + 60
    while pauses < 4 and time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        if "pausing" in line:
            pauses += 1
            if pauses == 2:  # the server drops the extractor's connection
                terminated = _pg(
                    dsn,
                    "select pg_terminate_backend(pid) from pg_stat_activity "
                    "where application_name = 'crypto_exchange_ingestion' "
                    "and pid <> pg_backend_pid()",
                )
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    process.stdout.close()
    process.stderr.close()
    assert pauses == 4 and terminated == [(True,)], "the extract did not get past the drop"

    con = duckdb.connect(str(warehouse), read_only=True)
    partial = con.execute("select count(*) from raw.trades").fetchone()[0]
    con.close()
    assert partial == 3 * EXTRACT_BATCH  # three batches committed; the fourth was rolled back

    resumed = _extract_process(dsn, schema, warehouse, "")
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err

    clean = tmp_path / "clean" / "warehouse.duckdb"
    extract(dsn, clean, schema, ["trades"], batch_size=EXTRACT_BATCH)
    columns = ", ".join(f'"{c}"' for c in TRADE_COLUMNS)
    con = duckdb.connect()
    try:
        con.execute(f"attach '{warehouse}' as resumed (read_only)")
        con.execute(f"attach '{clean}' as clean (read_only)")
        total, distinct = con.execute(
            "select count(*), count(distinct trade_id) from resumed.raw.trades"
        ).fetchone()
        assert total == distinct == len(source)  # nothing lost, nothing twice
        assert {
            r[0] for r in con.execute("select trade_id from resumed.raw.trades").fetchall()
        } == {r[0] for r in source}
        assert (
            con.execute(
                f"select {columns} from resumed.raw.trades except all "
                f"select {columns} from clean.raw.trades"
            ).fetchall()
            == []
        )
        assert (
            con.execute(
                f"select {columns} from clean.raw.trades except all "
                f"select {columns} from resumed.raw.trades"
            ).fetchall()
            == []
        )
    finally:
        con.close()
    assert not list((warehouse.parent / "pg_extract").rglob("*.parquet"))


# --------------------------------------------------------------------------------------
# hostile values through load, dbt and the export (issue 18, items 5 and 8)

FAR_FUTURE = dt.datetime(9999, 12, 31, 23, 0)
FORMULA = "=cmd|' /C calc'!A0"
CLEAR_EMAIL = "victim.name@example.com"
CLEAR_IPV4, CLEAR_IPV6 = "198.51.100.77", "2001:db8:abcd:12::1"
SPINE_MODELS = [
    "intermediate.int_asset_usd_rates_hourly",
    "marts.dim_dates",
    "marts.fct_compliance_alert_daily",
    "marts.fct_system_metrics_daily",
    "marts.fct_source_volume_anomalies",
]
BUILD_TIMEOUT_SECONDS = 900  # the tiny build takes about a minute here; a runaway never ends


@pytest.fixture(scope="module")
def hostile_build(tmp_path_factory, tiny_landing):
    """The tiny landing plus hostile rows, loaded, with one far-future fill put straight into
    raw (as a hand edit or another extract could), then built by dbt (models and seeds)."""
    root = tmp_path_factory.mktemp("hostile_build")
    landing, warehouse = root / "landing", root / "warehouse.duckdb"
    shutil.copytree(tiny_landing, landing)  # loading moves rejected files: keep the fixture's
    hostile = landing / "users" / "hostile.csv"
    hostile.write_text(
        "user_id,email,created_at\n"
        f"UHOSTILE1,{CLEAR_EMAIL},epoch\n"
        f"UHOSTILE2,{CLEAR_EMAIL},9999-12-31T23:00:00Z\n"
    )
    logins = [
        {
            "event_id": f"EHOSTILE{n}",
            "user_id": "U1",
            "event_type": "login_hacked",
            "ip_address": ip,
            "occurred_at": "2026-10-01T00:00:00Z",
        }
        for n, ip in enumerate([CLEAR_IPV4, CLEAR_IPV6])
    ]
    (landing / "login_events" / "hostile.jsonl").write_bytes(jsonl_bytes(logins))
    load_landing(landing, warehouse, settings=FAST)
    con = duckdb.connect(str(warehouse))
    try:
        user_id, created_at = con.execute(
            "select user_id, created_at from raw.transactions order by created_at desc limit 1"
        ).fetchone()
        # a system alert of $50,000 whose id is a spreadsheet formula: a SAR candidate
        con.execute(
            "insert into raw.compliance_alerts (alert_id, user_id, alert_type, transaction_amount, "
            "investigation_status, created_at, _load_id, _source_file, _row_number, _loaded_at) "
            "values (?, ?, 'large_transaction', 50000, 'pending', ?, 'hostile', "
            "'compliance_alerts/hostile.csv', 1, now())",
            [FORMULA, user_id, created_at],
        )
        # the row the loader now quarantines, as if it had reached raw anyway
        con.execute(
            "insert into raw.trades select * replace (trade_id || '-far-future' as trade_id, "
            "? as executed_at) from raw.trades limit 1",
            [FAR_FUTURE],
        )
    finally:
        con.close()
    env = project_env(root, warehouse)
    started = time.monotonic()
    build = subprocess.run(
        [str(BIN / "dbt"), "build", "--exclude", "resource_type:test", "resource_type:unit_test"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_SECONDS,
    )
    seconds = time.monotonic() - started
    assert build.returncode == 0, build.stdout[-4000:]
    return root, warehouse, env, seconds


def test_a_far_future_row_cannot_blow_up_a_spine(hostile_build):
    """Issue 18: one trade dated 9999-12-31 grew int_asset_usd_rates_hourly to 629M rows, spilled
    24 GB and never finished. The loader quarantines such a row now (bad-input corpus); one that
    reaches raw anyway ends every spine a day after now: the build finishes, small."""
    _, warehouse, _, seconds = hostile_build
    assert seconds < BUILD_TIMEOUT_SECONDS
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert (
            con.execute(
                "select count(*) from raw.trades where executed_at = ?", [FAR_FUTURE]
            ).fetchone()[0]
            == 1
        ), "the far-future row is in raw: the test proves something"
        in_staging = con.execute(
            "select count(*) from staging.stg_exchange__trades where executed_at = ?", [FAR_FUTURE]
        ).fetchone()[0]
        assert in_staging == 1, "and it reaches the models the spines are built from"
        tomorrow = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(days=1, hours=1)
        first_day = con.execute("select min(date_day) from marts.dim_dates").fetchone()[0]
        last_day, days = con.execute(
            "select max(date_day), count(*) from marts.dim_dates"
        ).fetchone()
        assert last_day <= tomorrow.date()
        assert days == (last_day - first_day).days + 1
        first_hour, last_hour, assets, rates = con.execute(
            "select min(rate_hour), max(rate_hour), count(distinct asset), count(*) "
            "from intermediate.int_asset_usd_rates_hourly"
        ).fetchone()
        assert last_hour <= tomorrow
        hours = (last_hour - first_hour) / dt.timedelta(hours=1) + 1
        assert rates <= assets * hours < 5_000_000, (rates, assets, hours)
        for model in SPINE_MODELS:
            column = {
                "intermediate.int_asset_usd_rates_hourly": "rate_hour",
                "marts.dim_dates": "date_day",
                "marts.fct_compliance_alert_daily": "alert_date",
                "marts.fct_system_metrics_daily": "metric_date",
                "marts.fct_source_volume_anomalies": "event_date",
            }[model]
            latest, rows = con.execute(f"select max({column}), count(*) from {model}").fetchone()
            assert latest is None or str(latest) <= str(tomorrow), (model, latest)
            assert rows < 5_000_000, (model, rows)
    finally:
        con.close()


def test_quarantined_emails_and_ips_never_reach_analysts_in_clear(hostile_build):
    """Issue 18: a user row that failed validation showed its e-mail in clear in
    staging.stg_loader__quarantined_rows.record. Raw keeps it (replayable, not for analysts);
    staging removes e-mails and truncates IPs, in the record and in the reason."""
    _, warehouse, _, _ = hostile_build
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        raw = con.execute(
            "select string_agg(record, ' ') from raw._quarantine "
            "where source_file in ('users/hostile.csv', 'login_events/hostile.jsonl')"
        ).fetchone()[0]
        assert CLEAR_EMAIL in raw and CLEAR_IPV4 in raw and CLEAR_IPV6 in raw
        rows = con.execute(
            "select source_file, file_row_number, reason, record, reason_category "
            "from staging.stg_loader__quarantined_rows "
            "where source_file in ('users/hostile.csv', 'login_events/hostile.jsonl') "
            "order by 1, 2"
        ).fetchall()
    finally:
        con.close()
    assert len(rows) == 4
    for _, _, reason, record, _ in rows:
        for clear in (CLEAR_EMAIL, CLEAR_IPV4, CLEAR_IPV6):
            assert clear not in record and clear not in reason, (clear, record)
        assert not re.search(r"[^@\s\"]+@[^@\s\"]+\.[a-z]{2,}", record, re.I), record
    by_row = {(f, n): (json.loads(record), category) for f, n, _, record, category in rows}
    user, category = by_row[("users/hostile.csv", 1)]
    assert user["email"] == "[e-mail removed]" and user["user_id"] == "UHOSTILE1"
    assert category == "wrong_type"
    assert by_row[("users/hostile.csv", 2)][1] == "implausible_time"
    assert by_row[("login_events/hostile.jsonl", 1)][0]["ip_address"] == "198.51.100.0/24"
    assert by_row[("login_events/hostile.jsonl", 2)][0]["ip_address"] == "2001:db8:abcd::/48"


def test_the_documented_sar_export_never_writes_a_live_formula(hostile_build, tmp_path):
    """Issue 18: a compliance alert whose text starts with =cmd| was written by the documented
    SAR CSV export as a live spreadsheet formula. The documented command goes through the one
    exporter, which escapes every text cell starting with = + - @ tab or CR."""
    _, warehouse, env, _ = hostile_build
    docs = (REPO / "models" / "marts" / "compliance" / "_compliance__docs.md").read_text()
    command = re.search(r"<!-- export-command -->\s*```sh\n(.*?)\n```", docs, re.S).group(1)
    result = subprocess.run(
        ["bash", "-c", command.strip().replace(".venv/bin/python", sys.executable)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    with open(tmp_path / "reports" / "sar_candidates.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    ids = [row["alert_id"] for row in rows]
    assert "'" + FORMULA in ids, "the hostile alert is exported, escaped"
    dangerous = ("=", "+", "-", "@", "\t", "\r")
    for path in (tmp_path / "reports").glob("*.csv"):
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.reader(fh):
                for cell in row:
                    number = re.fullmatch(r"-?[0-9.]+(e-?[0-9]+)?", cell)
                    assert number or not cell.startswith(dangerous), (path.name, cell)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        exported = len(rows)
        assert (
            exported == con.execute("select count(*) from marts.rpt_sar_candidates").fetchone()[0]
        )
    finally:
        con.close()


# --------------------------------------------------------------------------------------
# files changed in place, raw tables damaged by hand, bookkeeping lost (docs/landing_contract.md and
# docs/reliability.md#crash-safety)


def _raw(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _write(warehouse: Path, sql: str) -> None:
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(sql)
    finally:
        con.close()


def test_a_file_edited_in_place_at_the_same_size_is_loaded_again(tmp_path: Path, caplog):
    """Identity is the content hash, never the size: a one-character edit (price 100.25 ->
    900.25) is caught, loaded again with a warning, and both versions are in raw for the
    version rule of staging."""
    landing = tmp_path / "landing"
    path = landing / "trades" / "2026-01-01.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(csv_bytes([trade(i) for i in range(5)]))
    warehouse = tmp_path / "warehouse.duckdb"
    load_landing(landing, warehouse, "trades", settings=FAST)
    edited = path.read_bytes().replace(b"100.25", b"900.25", 1)
    assert len(edited) == path.stat().st_size
    path.write_bytes(edited)

    with caplog.at_level("WARNING", logger="ingestion.loaders"):
        report = load_landing(landing, warehouse, "trades", settings=FAST)

    (result,) = report.tables["trades"].files
    assert result.status == "loaded" and result.rows_loaded == 5
    assert result.message.startswith("content changed since it was loaded: loaded again")
    assert report.tables["trades"].changed_files == ["trades/2026-01-01.csv"]
    assert "changed after it was loaded" in caplog.text
    assert "changed since loaded, loaded again: trades/2026-01-01.csv" in report.summary()
    assert _raw(warehouse, "SELECT count(*), count(DISTINCT _load_id) FROM raw.trades") == [(10, 2)]
    again = load_landing(landing, warehouse, "trades", settings=FAST)
    assert [f.status for f in again.tables["trades"].files] == ["skipped"]


@pytest.mark.parametrize("damage", ["drop", "truncate", "delete one file's rows"])
def test_a_raw_table_damaged_by_hand_is_reloaded_from_the_landing_files(
    tmp_path: Path, damage: str
):
    """raw.trades dropped, truncated or partly deleted by hand: the next load sees it against
    raw._loaded_files and loads the lost files again: the warehouse equals one clean load."""
    landing = write_landing(tmp_path / "landing")
    clean = clean_copy(landing, tmp_path / "clean", tmp_path / "clean.duckdb")
    warehouse = tmp_path / "warehouse.duckdb"
    load_landing(landing, warehouse, "trades", settings=FAST)
    _write(
        warehouse,
        {
            "drop": "DROP TABLE raw.trades",
            "truncate": "DELETE FROM raw.trades",
            "delete one file's rows": "DELETE FROM raw.trades WHERE _source_file = 'trades/e.csv'",
        }[damage],
    )

    report = load_landing(landing, warehouse, "trades", settings=FAST)

    (repair,) = report.tables["trades"].repairs
    lost = {"drop": 600, "truncate": 600, "delete one file's rows": 150}[damage]
    assert f"raw.trades had lost {lost} loaded rows" in repair
    assert report.rows_loaded == lost
    assert_as_one_clean_load(warehouse, landing, tmp_path / "clean.duckdb", clean)


def test_a_raw_table_whose_lost_files_are_gone_fails_the_load_naming_it(tmp_path: Path, capsys):
    """The landing file of the lost rows is gone: no empty table reported as success, the CLI
    exits 1 naming raw.trades and the file; the other tables still load on a later run."""
    from ingestion.loaders.cli import main as cli_main

    landing = write_landing(tmp_path / "landing")
    warehouse = tmp_path / "warehouse.duckdb"
    load_landing(landing, warehouse, "trades", settings=FAST)
    _write(warehouse, "DROP TABLE raw.trades")
    (landing / "trades" / "b.jsonl").unlink()

    code = cli_main(["--landing", str(landing), "--warehouse", str(warehouse), "-q"])

    err = capsys.readouterr().err
    assert code == 1
    assert "raw.trades has lost rows" in err and "trades/b.jsonl" in err
    assert _raw(warehouse, "SELECT count(*) FROM raw.trades") == [(0,)]  # nothing half-done
    assert _raw(
        warehouse, "SELECT count(*) FROM raw._loaded_files WHERE source_file = 'trades/b.jsonl'"
    ) == [(1,)]


def test_losing_the_loaded_files_table_never_doubles_raw_rows(tmp_path: Path):
    """raw._loaded_files dropped: the rows already in raw are recognised by their source file,
    their records rebuilt, and the next load loads nothing twice."""
    landing = write_landing(tmp_path / "landing")
    clean = clean_copy(landing, tmp_path / "clean", tmp_path / "clean.duckdb")
    warehouse = tmp_path / "warehouse.duckdb"
    load_landing(landing, warehouse, "trades", settings=FAST)
    _write(warehouse, "DROP TABLE raw._loaded_files")

    report = load_landing(landing, warehouse, "trades", settings=FAST)

    assert report.rows_loaded == 0
    (repair,) = report.tables["trades"].repairs
    assert "records are rebuilt from raw" in repair
    assert _raw(warehouse, "SELECT count(*), count(DISTINCT trade_id) FROM raw.trades") == [
        (600, 600)
    ]
    rebuilt = snapshot(warehouse)["files"]
    assert {r[1] for r in rebuilt if r[-1] == "loaded"} == {
        r[1] for r in snapshot(tmp_path / "clean.duckdb")["files"] if r[-1] == "loaded" and r[4]
    }
    again = load_landing(landing, warehouse, "trades", settings=FAST)
    assert again.rows_loaded == 0 and not again.tables["trades"].repairs
    assert tree(landing) == tree(clean)


def test_rows_of_another_loader_are_no_damage(tmp_path: Path):
    """raw.external_prices also holds the HTTP loader's rows (no landing file, no record in
    raw._loaded_files): the file loader neither records them nor reports a repair."""
    landing = tmp_path / "landing"
    (landing / "external_prices").mkdir(parents=True)
    warehouse = tmp_path / "warehouse.duckdb"
    load_landing(landing, warehouse, "external_prices", settings=FAST)
    _write(
        warehouse,
        "INSERT INTO raw.external_prices VALUES ('coingecko', 'BTC', 100, "
        "TIMESTAMP '2026-01-01', 'l1', 'https://api.coingecko.com/x', 1, TIMESTAMP '2026-01-01')",
    )
    report = load_landing(landing, warehouse, "external_prices", settings=FAST)
    assert report.tables["external_prices"].repairs == []
    assert _raw(warehouse, "SELECT count(*) FROM raw._loaded_files") == [(0,)]
