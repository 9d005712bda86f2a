"""Compare every table of the `marts` schema of two DuckDB warehouses and print the differences.

Used to show that a refactoring of the models leaves the marts as they were:

    .venv/bin/python scripts/compare_marts.py /tmp/before.duckdb /tmp/after.duckdb

For each table in either file: whether it exists in both, its row count, its columns, and per
column the number of NULLs and a checksum. Numeric columns are summed (as DOUBLE) and compared
with a relative tolerance (float rounding noise from a different order of summation is not a
difference); other columns are compared by an order-independent hash (the sum of the hashes
of their values as text). Exit status 1 when anything differs, 0 when the marts agree.
"""

from __future__ import annotations

import argparse
import math
import sys

import duckdb

from warehouse import open_scratch

NUMERIC_PREFIXES = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "FLOAT",
    "DOUBLE",
    "REAL",
    "DECIMAL",
)


def _tables(con: duckdb.DuckDBPyConnection, schema: str) -> dict[str, dict[str, str]]:
    # information_schema lists every attached database: only the current one's tables.
    rows = con.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_catalog = current_database() and table_schema = ? "
        "order by table_name, ordinal_position",
        [schema],
    ).fetchall()
    tables: dict[str, dict[str, str]] = {}
    for table, column, data_type in rows:
        tables.setdefault(table, {})[column] = data_type
    return tables


def _is_numeric(data_type: str) -> bool:
    return data_type.upper().startswith(NUMERIC_PREFIXES)


def _profile(con, schema: str, table: str, columns: dict[str, str]) -> dict[str, tuple]:
    """Row count under '' and per column (NULL count, checksum)."""
    parts = ["count(*)"]
    for column, data_type in columns.items():
        quoted = '"' + column.replace('"', '""') + '"'
        parts.append(f"count(*) - count({quoted})")
        if _is_numeric(data_type):
            parts.append(f"sum(cast({quoted} as double))")
        else:
            # hugeint sum of 64-bit hashes: independent of row order, exact
            parts.append(f"sum(hash(cast({quoted} as varchar)))::varchar")
    values = con.execute(f'select {", ".join(parts)} from "{schema}"."{table}"').fetchone()
    profile = {"": (values[0],)}
    for i, column in enumerate(columns):
        profile[column] = (values[1 + 2 * i], values[2 + 2 * i])
    return profile


def _same(a, b, rel_tol: float, abs_tol: float) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        if math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(a, b, rel_tol=rel_tol, abs_tol=abs_tol)
    return a == b


def compare(
    before: str,
    after: str,
    schema: str,
    rel_tol: float,
    abs_tol: float,
    exclude: tuple[str, ...] = (),
) -> list[str]:
    with open_scratch() as con:
        return _compare_in(con, before, after, schema, rel_tol, abs_tol, exclude)


def _compare_in(
    con: duckdb.DuckDBPyConnection,
    before: str,
    after: str,
    schema: str,
    rel_tol: float,
    abs_tol: float,
    exclude: tuple[str, ...],
) -> list[str]:
    con.execute(f"attach '{before}' as before_db (read_only)")
    con.execute(f"attach '{after}' as after_db (read_only)")
    differences: list[str] = []
    con.execute("use before_db")
    left = _tables(con, schema)
    con.execute("use after_db")
    right = _tables(con, schema)
    for table in sorted((set(left) | set(right)) - set(exclude)):
        if table not in right:
            differences.append(f"{table}: only in {before}")
            continue
        if table not in left:
            differences.append(f"{table}: only in {after}")
            continue
        for column in left[table].keys() - right[table].keys():
            differences.append(f"{table}.{column}: only in {before}")
        for column in right[table].keys() - left[table].keys():
            differences.append(f"{table}.{column}: only in {after}")
        shared = {c: t for c, t in left[table].items() if c in right[table]}
        for column, data_type in shared.items():
            if _is_numeric(data_type) != _is_numeric(right[table][column]):
                differences.append(
                    f"{table}.{column}: type {data_type} became {right[table][column]}"
                )
        numeric = {
            c: t for c, t in shared.items() if _is_numeric(t) and _is_numeric(right[table][c])
        }
        text = {c: "VARCHAR" for c in shared if c not in numeric}
        con.execute("use before_db")
        p_before = _profile(con, schema, table, {**numeric, **text})
        con.execute("use after_db")
        p_after = _profile(con, schema, table, {**numeric, **text})
        if p_before[""] != p_after[""]:
            differences.append(f"{table}: {p_before[''][0]} rows, now {p_after[''][0]}")
            continue
        for column in shared:
            (nulls_a, sum_a), (nulls_b, sum_b) = p_before[column], p_after[column]
            if nulls_a != nulls_b:
                differences.append(f"{table}.{column}: {nulls_a} NULLs, now {nulls_b}")
            elif not _same(sum_a, sum_b, rel_tol, abs_tol):
                differences.append(f"{table}.{column}: checksum {sum_a}, now {sum_b}")
    return differences


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", help="DuckDB file built before the change")
    parser.add_argument("after", help="DuckDB file built after the change")
    parser.add_argument("--schema", default="marts")
    parser.add_argument("--rel-tol", type=float, default=1e-9, help="relative tolerance of sums")
    parser.add_argument("--abs-tol", type=float, default=1e-6, help="absolute tolerance of sums")
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="TABLE",
        help="a table not to compare (repeatable), e.g. the run-history marts (fct_pipeline_runs, "
        "fct_pipeline_run_stages, fct_data_quality_scorecard), which record each dbt run itself",
    )
    args = parser.parse_args(argv)
    differences = compare(
        args.before, args.after, args.schema, args.rel_tol, args.abs_tol, tuple(args.exclude)
    )
    for line in differences:
        print(line)
    print(f"{len(differences)} difference(s) in schema {args.schema}")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
