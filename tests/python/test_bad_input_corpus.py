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

from .bad_input_corpus import FOLDER, Case, cases, write_corpus

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
    assert report.tables["trades"].columns_added == ["venue", "feeAsset"]
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
