"""The project's `unique` test on DuckDB (macros/generic_tests/unique.sql: a hash of the value
grouped first, docs/reliability.md#scale-and-speed) fails with exactly the rows of dbt's own."""

from __future__ import annotations

import duckdb

from .conftest import dbt, project_env

# Duplicates of two and three, NULLs (never duplicates), unique values, and an integer key.
VALUES = "('a', 1), ('a', 1), ('b', 2), (null, 3), (null, 3), ('c', 4), ('c', 5), ('c', 6)"
RELATION = f"(select * from (values {VALUES}) as keys(text_key, number_key))"


def failing_rows(tmp_path, column: str) -> tuple[list, list]:
    env = project_env(tmp_path, tmp_path / "warehouse.duckdb")
    arguments = f'"{RELATION}", "{column}"'
    inline = (
        f"select 'project' as side, * from ({{{{ duckdb__test_unique({arguments}) }}}}) as p "
        f"union all select 'dbt', * from ({{{{ dbt.default__test_unique({arguments}) }}}}) as d"
    )
    compiled = dbt(["compile", "--quiet", "--inline", inline], env).stdout
    rows = duckdb.connect().execute(compiled).fetchall()
    project = sorted(row[1:] for row in rows if row[0] == "project")
    default = sorted(row[1:] for row in rows if row[0] == "dbt")
    return project, default


def test_unique_fails_with_the_rows_of_dbts_own_test(tmp_path):
    project, default = failing_rows(tmp_path, "text_key")
    assert project == default == [("a", 2), ("c", 3)]
    project, default = failing_rows(tmp_path, "number_key")
    assert project == default == [(1, 2), (3, 2)]
