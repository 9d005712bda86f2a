"""The bad-input corpus (bad_input_corpus.py) through the real loader and a real DuckDB file.

docs/reliability.md#quarantine: bad input never crashes the load and is never silently dropped. For
every case, every record of its file is accounted for exactly once: in ``raw.<table>`` with its
record number, or in ``raw._quarantine`` with the expected reason, or (an unreadable file) the file
moved to ``_rejected/`` with a clear message; the rest of the file loads. The decisions (future
timestamps load, a negative fee loads, both versions of a duplicate key load...) are explained
in bad_input_corpus.py and repeated in each case.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ingestion.contract import TABLES
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
    resent_exports,
    trade,
    write_corpus,
    write_unsupported,
)
from .conftest import dbt, project_env

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


# --------------------------------------------------------------------------------------
# through dbt: versions decided by the row, conflicts reported
# (docs/landing_contract.md#keys-and-versions)

MUTABLE_STAGING = [f"stg_exchange__{e.table}" for e in resent_exports()]
INPLACE_USERS = "users/inplace/2026-01-05.csv"
RESENT_FILES = ("2026-01-01.csv", "2026-01-02.csv", "2026-01-03-old-export-again.csv")


@pytest.fixture(scope="module")
def versioned_build(tmp_path_factory):
    """Every mutable table with an old export delivered again after a newer one, a users file
    edited in place (same size: tier 1 -> 3), the same trade_id twice in one file with two
    prices and once more in another file; loaded, then staging and the conflicts built."""
    root = tmp_path_factory.mktemp("versioned_build")
    landing, warehouse = root / "landing", root / "warehouse.duckdb"
    for export in resent_exports():
        for name, content in export.files().items():
            (landing / name).parent.mkdir(parents=True, exist_ok=True)
            (landing / name).write_bytes(content)
    duplicates = next(c for c in CASES if c.file_name == "duplicate_keys.csv")
    write_corpus(landing, [duplicates])
    other = landing / "trades" / "conflict" / "later.csv"
    other.parent.mkdir(parents=True)
    other.write_bytes(csv_bytes([trade(71, fee="0.02")]))
    users = landing / INPLACE_USERS
    users.parent.mkdir(parents=True)
    users.write_bytes(
        csv_bytes(
            [
                {
                    "user_id": "RU2",
                    "email": "ru2@example.com",
                    "created_at": "2026-01-01T00:00:00Z",
                    "status": "active",
                    "user_tier_id": "1",
                    "updated_at": "2026-01-05T00:00:00Z",
                }
            ],
            TABLES["users"].column_names,
        )
    )
    load_landing(landing, warehouse, settings=SETTINGS)
    edited = users.read_bytes().replace(b",1,", b",3,")
    assert len(edited) == users.stat().st_size and edited != users.read_bytes()
    users.write_bytes(edited)  # same size, same name: only the content says it changed
    second = load_landing(landing, warehouse, settings=SETTINGS)
    env = project_env(root, warehouse)
    models = " ".join([*MUTABLE_STAGING, "stg_exchange__trades", "fct_source_version_conflicts"])
    # stg_exchange__deletions: the tombstones the users and orders staging models join
    extra = ["stg_loader__version_conflicts", "stg_exchange__deletions"]
    dbt(["run", "--select", *models.split(), *extra], env)
    tested = dbt(["test", "--select", "assert_no_source_version_conflicts"], env)
    return warehouse, second, tested


@pytest.mark.parametrize("export", resent_exports(), ids=lambda e: e.table)
def test_an_old_export_delivered_again_does_not_undo_a_newer_state(versioned_build, export):
    warehouse, _, _ = versioned_build
    key = TABLES[export.table].primary_key[0]
    staged_key = "tier_id" if export.table == "user_tiers" else key
    for value, expected in export.expected.items():
        columns = ", ".join(expected)
        rows = fetch(
            warehouse,
            f"SELECT {columns} FROM staging.stg_exchange__{export.table} "
            f"WHERE cast({staged_key} AS varchar) = ?",
            [value],
        )
        assert rows == [tuple(expected.values())], export.decision


def test_a_users_file_edited_in_place_brings_its_change(versioned_build):
    warehouse, second, _ = versioned_build
    assert second.tables["users"].changed_files == [INPLACE_USERS]
    assert fetch(
        warehouse, "SELECT tier_id FROM staging.stg_exchange__users WHERE user_id = 'RU2'"
    ) == [(3,)]


def test_conflicts_are_recorded_kept_by_one_rule_and_warned(versioned_build):
    warehouse, _, tested = versioned_build
    conflicts = fetch(
        warehouse,
        "SELECT source_table, conflict_key, conflicting_rows, files_involved, source_files, "
        "differing_columns, kept_source_file, kept_row_number "
        "FROM marts.fct_source_version_conflicts ORDER BY 1, 2",
    )
    assert conflicts == [
        # within one file: row 2 kept (the last row of the file)
        (
            "trades",
            "C000070",
            2,
            1,
            "trades/corpus/duplicate_keys.csv",
            "price",
            "trades/corpus/duplicate_keys.csv",
            2,
        ),
        # across files: the file loaded last kept
        (
            "trades",
            "C000071",
            2,
            2,
            "trades/conflict/later.csv, trades/corpus/duplicate_keys.csv",
            "fee",
            "trades/corpus/duplicate_keys.csv",
            3,
        ),
        # no version in the row: every change is a conflict, reported; the content first
        # loaded last is kept (the re-sent old export is no newer than it was)
        (
            "trading_pairs",
            "902",
            3,
            3,
            ", ".join(f"trading_pairs/resent/{n}" for n in RESENT_FILES),
            "maker_fee_rate",
            "trading_pairs/resent/2026-01-02.csv",
            2,
        ),
        (
            "user_tiers",
            "91",
            3,
            3,
            ", ".join(f"user_tiers/resent/{n}" for n in RESENT_FILES),
            "trading_fee_rate",
            "user_tiers/resent/2026-01-02.csv",
            1,
        ),
        # the same-size edit: same updated_at, another tier; the edited content was loaded last
        ("users", "RU2", 2, 1, INPLACE_USERS, "user_tier_id", INPLACE_USERS, 1),
    ]
    kept = fetch(
        warehouse,
        "SELECT trade_id, price, fee_amount FROM staging.stg_exchange__trades "
        "WHERE trade_id IN ('C000070', 'C000071') ORDER BY 1",
    )
    assert kept == [
        ("C000070", Decimal("101.5"), Decimal("0.01")),
        ("C000071", Decimal("100.25"), Decimal("0.01")),
    ]
    assert "WARN 5 assert_no_source_version_conflicts" in tested.stdout


def test_the_daily_report_counts_the_conflicts(versioned_build):
    from orchestration.assets.report import conflicts_section

    warehouse, _, _ = versioned_build
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        lines = conflicts_section(con, "marts.fct_source_version_conflicts")
    finally:
        con.close()
    assert lines[1] == "## Source version conflicts"
    assert lines[3].startswith("- trades: 2 keys with conflicting versions (4 rows;")
    assert lines[4].startswith("- trading_pairs: 1 keys with conflicting versions (3 rows;")
    assert lines[6].startswith("- users: 1 keys with conflicting versions (2 rows;")
