"""scripts/compare_marts.py tells two warehouses' marts apart.

Both files are attached to one session, whose information_schema lists the tables of every
attached database: each side must see only its own tables and columns.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

import compare_marts  # noqa: E402


def _warehouse(path: Path, statements: list[str]) -> str:
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    for statement in statements:
        con.execute(statement)
    con.close()
    return str(path)


def _compare(before: str, after: str) -> list[str]:
    return compare_marts.compare(before, after, "marts", rel_tol=1e-9, abs_tol=1e-6)


def test_equal_marts_have_no_difference(tmp_path):
    same = [
        "create table marts.a as select range as id, range * 0.5 as amount from range(10)",
        "create view marts.v as select id from marts.a",
    ]
    before = _warehouse(tmp_path / "before.duckdb", same)
    after = _warehouse(tmp_path / "after.duckdb", same)
    assert _compare(before, after) == []


def test_a_table_or_column_of_one_side_only_is_reported(tmp_path):
    before = _warehouse(
        tmp_path / "before.duckdb",
        [
            "create table marts.old_name as select 1 as id",
            "create table marts.t as select 1 as id, 'x' as dropped",
        ],
    )
    after = _warehouse(
        tmp_path / "after.duckdb",
        [
            "create table marts.new_name as select 1 as id",
            "create table marts.t as select 1 as id, 2.5 as added",
        ],
    )
    assert sorted(_compare(before, after)) == sorted(
        [
            f"old_name: only in {before}",
            f"new_name: only in {after}",
            f"t.dropped: only in {before}",
            f"t.added: only in {after}",
        ]
    )


def test_changed_values_and_row_counts_are_reported(tmp_path):
    before = _warehouse(
        tmp_path / "before.duckdb",
        [
            "create table marts.t as select range as id, 'a' as label from range(3)",
            "create table marts.n as select 1 as id",
        ],
    )
    after = _warehouse(
        tmp_path / "after.duckdb",
        [
            "create table marts.t as select range as id, 'b' as label from range(3)",
            "create table marts.n as select range as id from range(2)",
        ],
    )
    differences = _compare(before, after)
    assert len(differences) == 2
    assert differences[0].startswith("n: 1 rows, now 2")
    assert differences[1].startswith("t.label: checksum ")
