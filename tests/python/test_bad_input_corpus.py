"""The bad-input corpus (bad_input_corpus.py) through the real loader and a real DuckDB file.

SPEC 9: bad input never crashes the load and is never silently dropped. For every case, every
record of its file is accounted for exactly once: in ``raw.<table>`` with its record number, or
in ``raw._quarantine`` with the expected reason, or (an unreadable file) the file moved to
``_rejected/`` with a clear message; the rest of the file loads. The decisions (future
timestamps load, a negative fee loads, both versions of a duplicate key load...) are explained
in bad_input_corpus.py and repeated in each case.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from ingestion.loaders import LoaderSettings, load_landing
from ingestion.loaders.cli import EXIT_BAD_INPUT
from ingestion.loaders.cli import main as cli_main

from .bad_input_corpus import (
    FOLDER,
    IN_PROGRESS,
    UNKNOWN_FOLDER,
    UNSUPPORTED_FILES,
    Case,
    cases,
    csv_bytes,
    trade,
    write_corpus,
    write_unsupported,
)

CASES = cases()
SETTINGS = LoaderSettings(lock_timeout=5, memory_limit="1GB")


@pytest.fixture(scope="module")
def corpus_load(tmp_path_factory):
    """The whole corpus in one landing directory, loaded once: (landing, warehouse, report)."""
    root = tmp_path_factory.mktemp("bad_input_corpus")
    landing = root / "landing"
    write_corpus(landing, CASES)
    warehouse = root / "warehouse.duckdb"
    report = load_landing(landing, warehouse, "trades,transactions", settings=SETTINGS)
    return landing, warehouse, report


def fetch(warehouse: Path, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def matches(reason: str, expected: str) -> bool:
    return reason.startswith(expected[:-3]) if expected.endswith("...") else reason == expected


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_record_goes_where_the_case_says(corpus_load, case: Case):
    landing, warehouse, _ = corpus_load
    loaded = fetch(
        warehouse,
        f'SELECT _row_number FROM raw."{case.table}" WHERE _source_file = ? ORDER BY 1',
        [case.source_file],
    )
    quarantined = fetch(
        warehouse,
        "SELECT row_number, reason, record FROM raw._quarantine "
        "WHERE table_name = ? AND source_file = ? ORDER BY 1",
        [case.table, case.source_file],
    )
    recorded = fetch(
        warehouse,
        "SELECT status, rows_loaded, rows_quarantined, message FROM raw._loaded_files "
        "WHERE source_file = ?",
        [case.source_file],
    )
    assert [n for (n,) in loaded] == list(case.loaded), case.decision
    assert [n for n, _, _ in quarantined] == sorted(case.quarantined), case.decision
    for n, reason, record in quarantined:
        assert matches(reason, case.quarantined[n]), (n, reason)
        assert record and json.loads(record), "a quarantined row keeps its original values"
    assert not set(case.loaded) & set(case.quarantined), "a record is in one place only"
    assert len(recorded) == 1, "every file is recorded once"
    status, rows_loaded, rows_quarantined, message = recorded[0]
    assert (rows_loaded, rows_quarantined) == (len(case.loaded), len(case.quarantined))
    source = landing / case.source_file
    if case.message:
        assert case.message in message, message
    if case.rejected:
        assert status == "rejected" and case.rejected in message, message
        moved = landing / "_rejected" / case.table / FOLDER / case.file_name
        assert not source.exists() and moved.read_bytes() == case.content
    else:
        assert status == "loaded", message
        assert source.read_bytes() == case.content  # loaded files stay where they are
    for n, expected in case.values.items():
        columns = ", ".join(f'"{c}"' for c in expected)
        row = fetch(
            warehouse,
            f'SELECT {columns} FROM raw."{case.table}" WHERE _source_file = ? AND _row_number = ?',
            [case.source_file, n],
        )
        assert row == [tuple(expected.values())], (n, expected)


def test_the_corpus_load_accounts_for_every_record_and_reruns_cleanly(corpus_load):
    landing, warehouse, report = corpus_load
    assert report.rows_loaded == sum(len(c.loaded) for c in CASES)
    assert report.rows_quarantined == sum(len(c.quarantined) for c in CASES)
    assert report.files_rejected == sum(1 for c in CASES if c.rejected)
    assert report.files_loaded == sum(1 for c in CASES if not c.rejected)
    # the new Parquet column was added as text; the hostile-looking names stayed names
    # (and the keys that differed only in case from a contract column, with _extra appended)
    assert report.tables["trades"].columns_added == [
        "Fee_extra",
        "PRICE_extra",
        "venue",
        "feeAsset",
    ]
    # nothing more than the corpus: no record of another file, no stray rows
    total = fetch(
        warehouse,
        "SELECT (SELECT count(*) FROM raw.trades) + (SELECT count(*) FROM raw.transactions), "
        "(SELECT count(*) FROM raw._quarantine)",
    )
    assert total == [(report.rows_loaded, report.rows_quarantined)]
    again = load_landing(landing, warehouse, "trades,transactions", settings=SETTINGS)
    assert (again.rows_loaded, again.rows_quarantined, again.files_rejected) == (0, 0, 0)
    assert again.files_skipped == report.files_loaded


def test_unsupported_files_and_unknown_folders_are_in_the_report(corpus_load):
    """Issue 18: .json, .tsv, .csv.zip files, a file at the landing root and an unknown table
    folder were ignored with a debug log. Now each is in the load report with its reason."""
    _, _, report = corpus_load
    reported = {f["path"]: f["reason"] for f in report.unsupported_files}
    assert set(reported) == set(UNSUPPORTED_FILES), reported
    for path, reason in UNSUPPORTED_FILES.items():
        assert reported[path].startswith(reason), (path, reported[path])
    assert IN_PROGRESS not in reported, "an upload in progress is no error"
    assert report.unknown_folders == [UNKNOWN_FOLDER]
    assert report.files_ignored == len(UNSUPPORTED_FILES) + 1
    as_json = report.to_dict()
    assert as_json["unsupported_files"] == report.unsupported_files
    assert "ignored file 'stray.csv'" in report.summary()


def test_strict_fails_on_unsupported_files_and_unknown_folders(tmp_path: Path, capsys):
    """Issue 18: --strict exited 0 with every one of those files ignored. A landing that is
    clean but for them loads its good file, and --strict exits with the bad-input status."""
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    (landing / "trades").mkdir(parents=True)
    (landing / "trades" / "good.csv").write_bytes(csv_bytes([trade(1)]))
    args = ["--landing", str(landing), "--warehouse", str(warehouse), "--tables", "trades", "-q"]
    assert cli_main([*args, "--strict"]) == 0, "a clean landing passes --strict"
    write_unsupported(landing)
    capsys.readouterr()
    assert cli_main([*args, "--strict", "--json"]) == EXIT_BAD_INPUT
    printed = json.loads(capsys.readouterr().out)
    assert printed["rows_quarantined"] == 0 and printed["files_rejected"] == 0
    assert {f["path"] for f in printed["unsupported_files"]} == set(UNSUPPORTED_FILES)
    assert printed["unknown_folders"] == [UNKNOWN_FOLDER]
    assert cli_main(args) == 0, "without --strict the load still runs"
