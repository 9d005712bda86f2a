"""The landing loaders against a real DuckDB warehouse in tmp_path (docs/landing_contract.md and
docs/reliability.md).

Every rule of docs/reliability.md#security that concerns loading has a test here: idempotency,
content-addressed skipping, a SIGKILLed load re-run, each kind of bad row, unreadable files, empty
files, schema drift, time zones, concurrent loads, every file format.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ingestion.contract import PROVENANCE_COLUMNS, TABLES
from ingestion.loaders import (
    LoaderSettings,
    WarehouseLockedError,
    load_landing,
    load_table,
)
from ingestion.loaders.cli import EXIT_LOCKED
from ingestion.loaders.cli import main as cli_main
from ingestion.loaders.validation import (
    POSTGRES,
    PostgresDialect,
    build_validation,
    plan_columns,
    postgres_helper_functions_sql,
)
from ingestion.loaders.validation import SourceColumn as Col
from warehouse import open_warehouse

REPO = Path(__file__).resolve().parents[2]
TRADE_COLUMNS = TABLES["trades"].column_names
FAST = LoaderSettings(lock_timeout=5, memory_limit="1GB")


# --------------------------------------------------------------------------------------
# building landing files


def trade(i: int, **changes) -> dict:
    """A valid trade as text values, as a CSV or JSON export would have it."""
    row = {
        "trade_id": f"T{i:06d}",
        "order_id": f"O{i // 2:06d}",
        "user_id": f"U{i % 7}",
        "pair_id": str(1 + i % 3),
        "side": "buy" if i % 2 else "sell",
        "quantity": f"{1 + i % 5}.25",
        "price": "100.5",
        "fee": "0.01",
        "fee_asset": "USDT",
        "is_maker": "true" if i % 2 else "false",
        "executed_at": f"2026-01-01T00:{i % 60:02d}:00Z",
    }
    row.update(changes)
    return row


def write_csv(path: Path, rows: list[dict], columns: list[str] | None = None) -> Path:
    columns = columns or list(rows[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return path


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
    return path


def write_parquet(path: Path, rows: list[dict], types: dict[str, str] | None = None) -> Path:
    """A Parquet file of ``rows``, its columns typed by ``types`` (DuckDB types; else VARCHAR)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    types = types or {}
    columns = list(rows[0])
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE t (" + ", ".join(f'"{c}" VARCHAR' for c in columns) + ")")
    con.executemany(
        f"INSERT INTO t VALUES ({', '.join('?' for _ in columns)})",
        [[row[c] for c in columns] for row in rows],
    )
    select = ", ".join(
        f'CAST("{c}" AS {types[c]}) AS "{c}"' if c in types else f'"{c}"' for c in columns
    )
    con.execute(f"COPY (SELECT {select} FROM t) TO '{path}' (FORMAT parquet)")
    con.close()
    return path


PARQUET_TRADE_TYPES = {
    "pair_id": "BIGINT",
    "quantity": "DECIMAL(20,8)",
    "price": "DOUBLE",
    "fee": "DECIMAL(10,4)",
    "is_maker": "BOOLEAN",
    "executed_at": "TIMESTAMPTZ",
}


def write_trades_parquet(path: Path, ids: list[int], **extra: tuple[str, list]) -> Path:
    """Trades with native Parquet types (int, decimal, double, bool, timestamp with zone);
    ``extra`` adds columns: name=(DuckDB type, values)."""
    rows = [trade(i) for i in ids]
    for name, (_, values) in extra.items():
        for row, value in zip(rows, values, strict=True):
            row[name] = value
    types = PARQUET_TRADE_TYPES | {name: sql_type for name, (sql_type, _) in extra.items()}
    return write_parquet(path, rows, types)


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    root = tmp_path / "landing"
    root.mkdir()
    return root


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"


def load(landing: Path, warehouse: Path, tables="trades"):
    return load_landing(landing, warehouse, tables, settings=FAST)


def query(warehouse: Path, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def quarantine(warehouse: Path) -> dict[tuple[str, int], str]:
    rows = query(warehouse, "SELECT source_file, row_number, reason FROM raw._quarantine")
    return {(f, n): reason for f, n, reason in rows}


def snapshot(warehouse: Path) -> dict[str, list[tuple]]:
    """Everything a load leaves behind, minus what differs between runs (ids, clocks)."""
    columns = [c for c in TRADE_COLUMNS] + ["_source_file", "_row_number"]
    return {
        "trades": query(
            warehouse,
            f"SELECT {', '.join(columns)} FROM raw.trades ORDER BY _source_file, _row_number",
        ),
        "quarantine": query(
            warehouse,
            "SELECT table_name, source_file, row_number, reason, record FROM raw._quarantine "
            "ORDER BY source_file, row_number, reason",
        ),
        "files": query(
            warehouse,
            "SELECT table_name, source_file, file_sha256, file_bytes, rows_loaded, "
            "rows_quarantined, status FROM raw._loaded_files ORDER BY table_name, source_file",
        ),
    }


# --------------------------------------------------------------------------------------
# formats, types, provenance


def test_mixed_formats_load_typed_rows_with_provenance(landing: Path, warehouse: Path):
    folder = landing / "trades"
    write_csv(folder / "a.csv", [trade(i) for i in range(0, 10)])
    write_csv(folder / "b.csv.gz", [trade(i) for i in range(10, 20)])
    write_trades_parquet(folder / "c.parquet", list(range(20, 30)))
    write_jsonl(folder / "d.jsonl", [trade(i) for i in range(30, 40)])
    write_jsonl(folder / "sub" / "e.jsonl.gz", [trade(i) for i in range(40, 50)])
    (folder / "ignored.txt").write_text("not a landing file")
    write_csv(folder / "_scratch" / "x.csv", [trade(99)])  # folders starting with _ are ignored
    write_csv(landing / "not_a_table" / "x.csv", [trade(99)])

    report = load(landing, warehouse, tables=None)  # every table of the contract

    assert report.rows_loaded == 50 and report.rows_quarantined == 0
    assert report.tables["trades"].files_loaded == 5
    assert report.unknown_folders == ["not_a_table"]
    rows = query(
        warehouse,
        "SELECT trade_id, _source_file, _row_number FROM raw.trades ORDER BY trade_id",
    )
    assert [r[0] for r in rows] == [f"T{i:06d}" for i in range(50)]
    assert rows[0][1:] == ("trades/a.csv", 1)
    assert rows[12][1:] == ("trades/b.csv.gz", 3)
    assert rows[29][1:] == ("trades/c.parquet", 10)
    assert rows[31][1:] == ("trades/d.jsonl", 2)
    assert rows[49][1:] == ("trades/sub/e.jsonl.gz", 10)
    # every format gives the same typed values
    typed = query(
        warehouse,
        "SELECT trade_id, pair_id, quantity, price, fee, is_maker, executed_at FROM raw.trades",
    )
    for trade_id, *values in typed:
        i = int(trade_id[1:])
        assert values == [
            1 + i % 3,
            Decimal(f"{1 + i % 5}.25"),
            Decimal("100.5"),
            Decimal("0.01"),
            bool(i % 2),
            dt.datetime(2026, 1, 1, 0, i % 60),
        ], trade_id
    types = dict(
        query(
            warehouse,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'raw' AND table_name = 'trades'",
        )
    )
    assert types["quantity"] == "DECIMAL(20,8)" and types["pair_id"] == "INTEGER"
    assert types["executed_at"] == "TIMESTAMP" and types["is_maker"] == "BOOLEAN"
    assert all(c in types for c in PROVENANCE_COLUMNS)
    loaded_at = query(warehouse, "SELECT DISTINCT _load_id FROM raw.trades")
    assert loaded_at == [(report.load_id,)]
    # every contract table has its raw table, with or without files
    tables = {
        r[0]
        for r in query(
            warehouse, "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw'"
        )
    }
    assert set(TABLES) | {"_loaded_files", "_quarantine"} <= tables


def test_timestamps_with_and_without_zone_become_utc(landing: Path, warehouse: Path):
    variants = [
        "2026-03-01T12:00:00Z",
        "2026-03-01T12:00:00+00:00",
        "2026-03-01 12:00:00",
        "2026-03-01T12:00:00",
        "2026-03-01T14:00:00+02:00",
        "2026-03-01T07:00:00-05:00",
        "2026-03-01T12:00:00.000Z",
    ]
    write_csv(
        landing / "trades" / "tz.csv", [trade(i, executed_at=v) for i, v in enumerate(variants)]
    )
    write_jsonl(
        landing / "trades" / "tz.jsonl",
        [trade(100 + i, executed_at=v) for i, v in enumerate(variants)],
    )

    load(landing, warehouse)

    values = query(warehouse, "SELECT DISTINCT executed_at FROM raw.trades")
    assert values == [(dt.datetime(2026, 3, 1, 12, 0),)]
    assert query(warehouse, "SELECT count(*) FROM raw.trades") == [(2 * len(variants),)]


def test_row_numbers_follow_file_order_in_large_files(landing: Path, warehouse: Path):
    """Row numbers come from insertion order, so they must survive DuckDB's parallel readers.

    The files are big enough to be read by several threads at once (a CSV file is split in
    32 MB buffers, JSON lines in smaller ones, Parquet by row group; a wide constant column
    makes them big with few rows): without ``preserve_insertion_order`` their rows come back
    out of order.
    """
    bad = (7, 19_999, 24_999, 69_999)  # row numbers with a non-positive quantity
    generated = f"""
        SELECT 'T' || lpad(i::VARCHAR, 7, '0') AS trade_id, 'O1' AS order_id, 'U1' AS user_id,
               '1' AS pair_id, 'buy' AS side,
               CASE WHEN i + 1 IN {bad} THEN '-1' ELSE '1.5' END AS quantity,
               '2' AS price, '0.1' AS fee, 'USDT' AS fee_asset, 'true' AS is_maker,
               '2026-01-01T00:00:00Z' AS executed_at, repeat('x', 500) AS padding
        FROM range({{rows}}) AS t(i)"""
    folder = landing / "trades"
    folder.mkdir()
    con = duckdb.connect()
    con.execute(f"COPY ({generated.format(rows=70_000)}) TO '{folder / 'big.csv'}' (HEADER)")
    con.execute(f"COPY ({generated.format(rows=25_000)}) TO '{folder / 'big.jsonl'}'")
    con.execute(
        f"COPY ({generated.format(rows=20_000)}) TO '{folder / 'big.parquet'}' "
        "(ROW_GROUP_SIZE 2000)"
    )
    con.close()

    report = load_landing(landing, warehouse, "trades", settings=LoaderSettings(threads=4))

    out_of_order = query(
        warehouse,
        "SELECT _source_file, count(*) FROM raw.trades "
        "WHERE CAST(substr(trade_id, 2) AS INTEGER) + 1 <> _row_number GROUP BY ALL",
    )
    assert out_of_order == []
    assert set(quarantine(warehouse)) == (
        {("trades/big.csv", n) for n in bad}
        | {("trades/big.jsonl", n) for n in bad if n <= 25_000}
        | {("trades/big.parquet", n) for n in bad if n <= 20_000}
    )
    assert report.rows_loaded == 115_000 - 9


# --------------------------------------------------------------------------------------
# idempotency and incremental loading


def test_loading_twice_changes_nothing(landing: Path, warehouse: Path):
    write_csv(
        landing / "trades" / "a.csv", [trade(i) for i in range(20)] + [trade(99, side="hold")]
    )
    write_jsonl(landing / "trades" / "b.jsonl", [trade(i) for i in range(20, 30)])

    first = load(landing, warehouse)
    before = snapshot(warehouse)
    second = load(landing, warehouse)

    assert (first.rows_loaded, first.rows_quarantined) == (30, 1)
    assert (second.rows_loaded, second.rows_quarantined, second.files_loaded) == (0, 0, 0)
    assert second.files_skipped == 2
    assert snapshot(warehouse) == before


def test_same_content_under_another_name_is_skipped(landing: Path, warehouse: Path):
    original = write_csv(landing / "trades" / "2026-01-01.csv", [trade(i) for i in range(5)])
    load(landing, warehouse)
    shutil.copy(original, landing / "trades" / "2026-01-01-resent.csv")
    write_csv(landing / "trades" / "2026-01-02.csv", [trade(i) for i in range(5, 8)])

    report = load(landing, warehouse)

    files = {f.source_file: f for f in report.tables["trades"].files}
    assert files["trades/2026-01-01-resent.csv"].status == "duplicate"
    assert "trades/2026-01-01.csv" in files["trades/2026-01-01-resent.csv"].message
    assert files["trades/2026-01-02.csv"].status == "loaded"
    assert report.rows_loaded == 3
    assert query(warehouse, "SELECT count(*), count(DISTINCT trade_id) FROM raw.trades") == [(8, 8)]
    recorded = query(
        warehouse,
        "SELECT source_file, rows_loaded, status FROM raw._loaded_files ORDER BY source_file",
    )
    assert recorded == [
        ("trades/2026-01-01-resent.csv", 0, "loaded"),
        ("trades/2026-01-01.csv", 5, "loaded"),
        ("trades/2026-01-02.csv", 3, "loaded"),
    ]


def test_exact_duplicate_rows_are_loaded(landing: Path, warehouse: Path):
    write_csv(landing / "trades" / "a.csv", [trade(1), trade(1), trade(2)])
    report = load(landing, warehouse)
    assert report.rows_loaded == 3


def test_sigkilled_load_rerun_equals_clean_load(tmp_path: Path, landing: Path, warehouse: Path):
    for n in range(6):
        rows = [trade(n * 1000 + i) for i in range(200)] + [trade(n * 1000 + 999, fee_asset="")]
        write_csv(landing / "trades" / f"part-{n:02d}.csv", rows)
    # the pause is the test's own (tests/python/pausing_loader.py), before each file's commit
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.python.pausing_loader",
            "--pause",
            "0.2",
            "ingestion.loaders",
            "--landing",
            str(landing),
            "--warehouse",
            str(warehouse),
            "--tables",
            "trades",
        ],
        cwd=REPO,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    pauses = 0
    deadline = time.monotonic() + 30
    while pauses < 3 and time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        pauses += "pausing" in line
    # the third file is inserted but not committed: kill the loader right there
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert pauses == 3, "the loader did not reach its third file"

    partial = snapshot(warehouse)
    assert len(partial["files"]) == 2 and len(partial["trades"]) == 400
    load(landing, warehouse)  # the re-run
    clean = tmp_path / "clean.duckdb"
    load(landing, clean)

    assert snapshot(warehouse) == snapshot(clean)
    assert query(warehouse, "SELECT count(*), count(DISTINCT trade_id) FROM raw.trades") == [
        (1200, 1200)
    ]


# --------------------------------------------------------------------------------------
# bad input


def test_each_kind_of_bad_row_is_quarantined_with_its_reason(landing: Path, warehouse: Path):
    rows = [
        trade(1),
        trade(2, quantity="abc"),  # wrong type
        trade(3, pair_id="1.5"),  # an integer that is not one
        trade(4, is_maker="maybe"),  # not a boolean
        trade(5, user_id=""),  # missing required (empty field = NULL)
        trade(6, side="hold"),  # unknown enum value
        trade(7, executed_at="2026-02-30T10:00:00"),  # unparseable timestamp
        trade(8, price="0"),  # non-positive where positive
        trade(9, quantity="-2", side="BUY"),  # two problems at once
        trade(10, fee="-0.5"),  # negative fee is allowed (not `positive`)
        trade(11, executed_at=""),  # missing required timestamp
        trade(12),
        trade(13, executed_at="infinity"),  # casts, but is no time
    ]
    write_csv(landing / "trades" / "bad.csv", rows)

    report = load(landing, warehouse)

    assert (report.rows_loaded, report.rows_quarantined) == (3, 10)
    reasons = {n: r for (_, n), r in quarantine(warehouse).items()}
    assert reasons == {
        2: "quantity: not a valid decimal(20,8): 'abc'",
        3: "pair_id: not a valid integer: '1.5'",
        4: "is_maker: not a valid boolean: 'maybe'",
        5: "user_id: required value missing",
        6: "side: unknown value 'hold' (expected one of: buy, sell)",
        7: "executed_at: not a valid timestamp: '2026-02-30T10:00:00'",
        8: "price: must be positive, got 0",
        9: "side: unknown value 'BUY' (expected one of: buy, sell); "
        "quantity: must be positive, got -2",
        11: "executed_at: required value missing",
        13: "executed_at: not a valid timestamp: 'infinity'",
    }
    loaded = query(warehouse, "SELECT _row_number, fee FROM raw.trades ORDER BY 1")
    assert loaded == [(1, Decimal("0.01")), (10, Decimal("-0.5")), (12, Decimal("0.01"))]
    record = json.loads(
        query(warehouse, "SELECT record FROM raw._quarantine WHERE row_number = 2")[0][0]
    )
    assert record == trade(2, quantity="abc")
    counts = query(warehouse, "SELECT rows_loaded, rows_quarantined, status FROM raw._loaded_files")
    assert counts == [(3, 10, "loaded")]


def test_bad_values_in_parquet_and_json(landing: Path, warehouse: Path):
    write_trades_parquet(landing / "trades" / "p.parquet", [1, 2, 3])
    con = duckdb.connect()
    con.execute(
        "COPY (SELECT * REPLACE "
        f"(CASE WHEN trade_id = 'T000002' THEN -1 ELSE quantity END AS quantity) "
        f"FROM read_parquet('{landing / 'trades' / 'p.parquet'}')) "
        f"TO '{landing / 'trades' / 'q.parquet'}'"
    )
    con.close()
    (landing / "trades" / "p.parquet").unlink()
    write_jsonl(
        landing / "trades" / "j.jsonl",
        [
            {**trade(10), "pair_id": 2, "quantity": 1.5, "is_maker": True},
            {**trade(11), "pair_id": "two"},
            {**trade(12), "quantity": None},
            {k: v for k, v in trade(13).items() if k != "price"},
        ],
    )

    load(landing, warehouse)

    reasons = quarantine(warehouse)
    assert reasons.pop(("trades/q.parquet", 2)).startswith("quantity: must be positive, got -1")
    assert reasons == {
        ("trades/j.jsonl", 2): "pair_id: not a valid integer: 'two'",
        ("trades/j.jsonl", 3): "quantity: required value missing",
        ("trades/j.jsonl", 4): "price: required value missing",
    }
    assert query(
        warehouse, "SELECT pair_id, quantity, is_maker FROM raw.trades WHERE trade_id = 'T000010'"
    ) == [(2, Decimal("1.5"), True)]


def test_simulator_faults_are_quarantined_exactly(
    tiny_landing: Path, landing: Path, warehouse: Path
):
    """The simulator labels every malformed row it writes: the loader quarantines exactly those."""
    tables = ("trades", "orders", "transactions")
    for table in tables:  # a copy: a load may move files aside
        shutil.copytree(tiny_landing / table, landing / table)
    with open(tiny_landing / "_simulator" / "planted_cases.csv", newline="") as fh:
        labelled = {
            (f"{row['table_name']}/{row['file_name']}", int(row["row_number"]))
            for row in csv.DictReader(fh)
            if row["rule"] == "malformed_row"
        }

    report = load(landing, warehouse, tables=",".join(tables))

    assert set(quarantine(warehouse)) == labelled
    assert report.files_rejected == 0 and report.rows_quarantined == len(labelled)


def test_file_without_a_required_column_is_quarantined_row_by_row(landing: Path, warehouse: Path):
    columns = [c for c in TRADE_COLUMNS if c not in ("fee", "is_maker")]  # is_maker is optional
    write_csv(landing / "trades" / "nofee.csv", [trade(i) for i in range(3)], columns)
    write_csv(
        landing / "trades" / "nomaker.csv",
        [trade(i) for i in range(3, 6)],
        [c for c in TRADE_COLUMNS if c != "is_maker"],
    )

    report = load(landing, warehouse)

    assert (report.rows_loaded, report.rows_quarantined) == (3, 3)
    assert set(quarantine(warehouse).items()) == {
        (("trades/nofee.csv", n), "missing required column fee") for n in (1, 2, 3)
    }
    assert query(warehouse, "SELECT count(*) FROM raw.trades WHERE is_maker IS NULL") == [(3,)]
    message = query(
        warehouse, "SELECT message FROM raw._loaded_files WHERE source_file = 'trades/nofee.csv'"
    )
    assert "missing required column fee" in message[0][0]


def test_malformed_records_are_quarantined_and_the_rest_loads(landing: Path, warehouse: Path):
    header = ",".join(TRADE_COLUMNS)
    good = [",".join(trade(i).values()) for i in range(1, 6)]
    text = "\n".join([header, good[0], good[1] + ",surplus", good[2], good[3]]) + "\n"
    folder = landing / "trades"
    folder.mkdir(parents=True)
    (folder / "fields.csv").write_text(text)
    (folder / "utf8.csv").write_bytes(
        ("\n".join([header, good[0], good[1]]) + "\n").encode()
        + good[2].replace("USDT", "US\xffDT").encode("latin-1")
        + b"\n"
        + (good[3] + "\n").encode()
    )
    lines = [json.dumps(trade(i)) for i in range(1, 5)]
    lines[1] = lines[1][:-5]  # cut short
    lines[2] = "[1, 2, 3]"
    (folder / "broken.jsonl").write_text("\n".join(lines) + "\n\n")

    report = load(landing, warehouse)

    reasons = quarantine(warehouse)
    assert reasons[("trades/fields.csv", 2)] == "malformed CSV record: expected 11 fields, found 12"
    assert reasons[("trades/utf8.csv", 3)] == (
        "record is not valid UTF-8 (looks like Latin-1 (ISO-8859-1 or Windows-1252))"
    )
    assert reasons[("trades/broken.jsonl", 2)].startswith("malformed JSON")
    assert reasons[("trades/broken.jsonl", 3)] == "line is not a JSON object"
    assert len(reasons) == 4
    loaded = query(
        warehouse,
        "SELECT _source_file, list(_row_number ORDER BY _row_number) FROM raw.trades "
        "GROUP BY 1 ORDER BY 1",
    )
    assert loaded == [
        ("trades/broken.jsonl", [1, 4]),
        ("trades/fields.csv", [1, 3, 4]),
        ("trades/utf8.csv", [1, 2, 4]),
    ]
    assert report.files_rejected == 0


def test_unreadable_files_are_moved_aside_and_the_rest_loads(
    landing: Path, warehouse: Path, caplog
):
    folder = landing / "trades"
    write_csv(folder / "good.csv", [trade(i) for i in range(3)])
    payload = gzip.compress(("\n".join(json.dumps(trade(i)) for i in range(2000)) + "\n").encode())
    (folder / "truncated.jsonl.gz").write_bytes(payload[: len(payload) // 2])
    (folder / "notgzip.csv.gz").write_bytes(b"trade_id\nT1\n")
    (folder / "notparquet.parquet").write_bytes(b"PAR1 this is not parquet at all" * 10)
    (folder / "garbage.csv").write_bytes(bytes(range(256)) * 20)
    (folder / "garbage.jsonl").write_bytes(bytes(range(128, 256)) * 20)
    write_csv(folder / "othertable.csv", [{"a": 1, "b": 2}])  # no column of trades at all

    with caplog.at_level("WARNING", logger="ingestion.loaders"):
        report = load(landing, warehouse)

    rejected = {
        "truncated.jsonl.gz",
        "notgzip.csv.gz",
        "notparquet.parquet",
        "garbage.csv",
        "garbage.jsonl",
        "othertable.csv",
    }
    assert report.files_rejected == len(rejected) and report.rows_loaded == 3
    assert sorted(p.name for p in folder.iterdir()) == ["good.csv"]
    assert sorted(p.name for p in (landing / "_rejected" / "trades").iterdir()) == sorted(rejected)
    recorded = query(
        warehouse,
        "SELECT source_file, message FROM raw._loaded_files WHERE status = 'rejected' ORDER BY 1",
    )
    assert {r[0] for r in recorded} == {f"trades/{name}" for name in rejected}
    for source_file, message in recorded:
        assert message.startswith("unreadable file: ") and "_rejected/trades/" in message
        assert source_file.split("/")[-1] in caplog.text
    messages = dict(recorded)
    assert "gzip" in messages["trades/truncated.jsonl.gz"].lower()
    assert "no column of table trades" in messages["trades/othertable.csv"]

    again = load(landing, warehouse)
    assert again.files_rejected == 0 and again.rows_loaded == 0
    # a load stopped between recording a rejection and moving the file: the next one moves it
    shutil.move(landing / "_rejected" / "trades" / "garbage.csv", folder / "garbage.csv")
    load(landing, warehouse)
    assert not (folder / "garbage.csv").exists()
    assert query(warehouse, "SELECT count(*) FROM raw._loaded_files WHERE status = 'rejected'") == [
        (len(rejected),)
    ]


def test_empty_and_header_only_files_load_zero_rows(landing: Path, warehouse: Path):
    folder = landing / "trades"
    folder.mkdir(parents=True)
    (folder / "empty.csv").write_bytes(b"")
    (folder / "empty.jsonl").write_bytes(b"")
    (folder / "blank.jsonl").write_text("\n\n")
    (folder / "empty.parquet").write_bytes(b"")
    (folder / "header.csv").write_text(",".join(TRADE_COLUMNS) + "\n")
    (folder / "header-gz.csv.gz").write_bytes(
        gzip.compress((",".join(TRADE_COLUMNS) + "\n").encode())
    )
    (folder / "nothing.csv.gz").write_bytes(gzip.compress(b""))
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * FROM '{write_parquet(folder / 'one.parquet', [trade(1)])}' WHERE false) "
        f"TO '{folder / 'none.parquet'}'"
    )
    con.close()
    (folder / "one.parquet").unlink()

    report = load(landing, warehouse)

    assert report.tables["trades"].files_loaded == 8
    assert (report.rows_loaded, report.rows_quarantined, report.files_rejected) == (0, 0, 0)
    assert query(
        warehouse,
        "SELECT count(*), sum(rows_loaded) FROM raw._loaded_files WHERE status = 'loaded'",
    ) == [(8, 0)]


def test_schema_drift_keeps_extra_columns_as_text(landing: Path, warehouse: Path):
    folder = landing / "trades"
    write_csv(folder / "1.csv", [trade(1)])
    write_csv(folder / "2.csv", [trade(2, venue="lit", Liquidity_Flag="M", _row_number="x")])
    write_trades_parquet(
        folder / "3.parquet", [3], venue=("VARCHAR", ["dark"]), batch=("INTEGER", ["7"])
    )

    report = load(landing, warehouse)

    assert report.rows_loaded == 3
    assert report.tables["trades"].columns_added == [
        "venue",
        "Liquidity_Flag",
        "_row_number_extra",
        "batch",
    ]
    rows = query(
        warehouse,
        'SELECT trade_id, venue, "Liquidity_Flag", _row_number_extra, batch, _row_number '
        "FROM raw.trades ORDER BY trade_id",
    )
    assert rows == [
        ("T000001", None, None, None, None, 1),
        ("T000002", "lit", "M", "x", None, 1),
        ("T000003", "dark", None, None, "7", 1),
    ]
    types = query(
        warehouse,
        "SELECT DISTINCT data_type FROM information_schema.columns WHERE table_schema = 'raw' "
        "AND table_name = 'trades' AND column_name IN ('venue', 'batch', 'Liquidity_Flag')",
    )
    assert types == [("VARCHAR",)]


def test_header_names_match_the_contract_ignoring_case(landing: Path, warehouse: Path):
    columns = [c.upper() for c in TRADE_COLUMNS]
    rows = [{c.upper(): v for c, v in trade(1).items()}]
    write_csv(landing / "trades" / "upper.csv", rows, columns)
    report = load(landing, warehouse)
    assert report.rows_loaded == 1
    assert query(
        warehouse, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'trades'"
    ) == [(len(TRADE_COLUMNS) + len(PROVENANCE_COLUMNS),)]


# --------------------------------------------------------------------------------------
# concurrency


HOLD_LOCK = """
import sys, time
from warehouse import Limits, open_warehouse
with open_warehouse(sys.argv[1], limits=Limits(lock_timeout=5)):
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
"""

HOLD_DUCKDB = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
"""


def _holder(script: str, warehouse: Path, seconds: float) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(warehouse), str(seconds)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "holding"
    return process


def test_second_load_stops_with_a_clear_error(landing: Path, warehouse: Path, capsys):
    write_csv(landing / "trades" / "a.csv", [trade(1)])
    holder = _holder(HOLD_LOCK, warehouse, 30)
    try:
        with pytest.raises(WarehouseLockedError, match=r"locked by another load \(pid \d+"):
            load_landing(landing, warehouse, "trades", settings=LoaderSettings(lock_timeout=0.5))
        code = cli_main(
            ["--landing", str(landing), "--warehouse", str(warehouse), "--lock-timeout", "0"]
        )
        assert code == EXIT_LOCKED
        assert "is locked by another load" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()
    assert load(landing, warehouse).rows_loaded == 1  # the dead holder left no stale lock


def test_second_load_waits_for_the_first(landing: Path, warehouse: Path):
    write_csv(landing / "trades" / "a.csv", [trade(1)])
    results: list = []

    def other_load():
        settings = LoaderSettings(lock_timeout=10)
        report = load_landing(landing, warehouse, "trades", settings=settings)
        results.append((time.monotonic(), report.rows_loaded))

    with open_warehouse(warehouse, limits=FAST):
        worker = threading.Thread(target=other_load)
        worker.start()
        time.sleep(0.6)
        assert results == []  # still waiting
        release_time = time.monotonic()
    worker.join(timeout=15)
    assert results and results[0][0] >= release_time and results[0][1] == 1


def test_warehouse_held_by_another_program_gives_a_clear_error(landing: Path, warehouse: Path):
    write_csv(landing / "trades" / "a.csv", [trade(1)])
    duckdb.connect(str(warehouse)).close()
    holder = _holder(HOLD_DUCKDB, warehouse, 30)
    try:
        with pytest.raises(WarehouseLockedError, match="open in another process"):
            load_table(warehouse, landing, "trades", settings=LoaderSettings(lock_timeout=0.5))
    finally:
        holder.kill()
        holder.wait()


# --------------------------------------------------------------------------------------
# entry points


def test_load_table_on_an_open_connection(landing: Path, warehouse: Path):
    write_csv(landing / "trades" / "a.csv", [trade(1), trade(2, side="x")])
    write_csv(
        landing / "orders" / "o.csv",
        [
            {
                "order_id": "O1",
                "user_id": "U1",
                "pair_id": "1",
                "order_type": "limit",
                "side": "buy",
                "quantity": "1",
                "price": "",
                "status": "filled",
                "filled_quantity": "1",
                "created_at": "2026-01-01 00:00:00",
                "updated_at": "2026-01-01 00:00:01+00:00",
            }
        ],
    )
    con = duckdb.connect(str(warehouse))
    try:
        report = load_table(con, landing, "trades")
        assert (report.rows_loaded, report.rows_quarantined, report.files_skipped) == (1, 1, 0)
        again = load_table(con, landing, "trades")
        assert (again.rows_loaded, again.files_skipped) == (0, 1)
        orders = load_table(con, landing, "orders")
        assert orders.rows_loaded == 1
        assert con.execute("SELECT price, updated_at FROM raw.orders").fetchall() == [
            (None, dt.datetime(2026, 1, 1, 0, 0, 1))
        ]
    finally:
        con.close()


def test_cli_uses_environment_defaults(landing: Path, warehouse: Path, monkeypatch, capsys):
    write_csv(landing / "trades" / "a.csv", [trade(1)])
    monkeypatch.setenv("EXCHANGE_LANDING_DIR", str(landing))
    monkeypatch.setenv("EXCHANGE_WAREHOUSE", str(warehouse))
    assert cli_main(["--tables", "trades", "--json", "-q"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["rows_loaded"] == 1 and printed["tables"]["trades"]["files_loaded"] == 1
    with pytest.raises(SystemExit):
        cli_main(["--tables", "no_such_table"])


def test_postgres_dialect_builds_the_same_checks():
    plan = plan_columns(TABLES["trades"], [Col(c) for c in TRADE_COLUMNS])
    sql = build_validation(plan, "staging.trades", "src.line_number", POSTGRES).sql
    assert "TRY_CAST" not in sql and '"raw"._loader_try_decimal(' in sql
    assert "json_build_object" in sql and "quantity: must be positive, got " in sql
    helpers = postgres_helper_functions_sql()
    assert helpers.count("CREATE OR REPLACE FUNCTION") == 5


@pytest.mark.postgres
def test_postgres_dialect_on_a_real_server(postgres_dsn):
    dsn = postgres_dsn
    import psycopg2

    plan = plan_columns(TABLES["trades"], [Col(c) for c in TRADE_COLUMNS])
    dialect = PostgresDialect(helper_schema="loader_test")
    sql = build_validation(plan, "pg_temp.staged_trades", "src.line_number", dialect).sql
    rows = [
        trade(1),
        trade(2, quantity="abc"),
        trade(3, executed_at="2026-01-01T02:00:00+02:00"),
        trade(4, fee="0.000000004"),
        trade(5, executed_at="epoch"),
        trade(6, executed_at="9999-12-31T23:59:59Z"),
        trade(7, fee="4e-09"),
    ]
    with psycopg2.connect(dsn) as pg, pg.cursor() as cur:
        cur.execute(postgres_helper_functions_sql("loader_test"))
        cur.execute(
            "CREATE TEMP TABLE staged_trades (line_number bigint, "
            + ", ".join(f"{c} text" for c in TRADE_COLUMNS)
            + ")"
        )
        for n, row in enumerate(rows, start=1):
            cur.execute(
                f"INSERT INTO staged_trades VALUES (%s, {', '.join(['%s'] * len(TRADE_COLUMNS))})",
                [n, *row.values()],
            )
        cur.execute(
            f"SELECT _row_number, quantity, executed_at, _reason FROM ({sql}) AS q ORDER BY 1"
        )
        result = cur.fetchall()
        cur.execute("DROP SCHEMA loader_test CASCADE")
    assert result[0][3] is None and result[0][1] == Decimal("2.25")
    assert result[1][3] == "quantity: not a valid decimal(20,8): 'abc'"
    assert result[2][2] == dt.datetime(2026, 1, 1, 0, 0)
    # the value rules of docs/landing_contract.md, with the same reasons as DuckDB's
    assert [r[3] for r in result[3:]] == [
        "fee: more digits than decimal(20,8) holds: '0.000000004'",
        "executed_at: not a valid timestamp: 'epoch'",
        "executed_at: implausible time '9999-12-31T23:59:59Z' (more than 1 day after the load)",
        "fee: more digits than decimal(20,8) holds: '4e-09'",
    ]
