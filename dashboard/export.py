"""CSV exports of the marts, safe to open in a spreadsheet: the one exporter every documented
export goes through (docs/reliability.md#security).

```sh
python -m dashboard.export                      # every report into reports/
python -m dashboard.export sar_candidates --out-dir /tmp/reports --warehouse data/warehouse.duckdb
```

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula, and tab or
carriage return can hide such a start (CSV injection: a compliance alert whose text is
``=cmd|' /C calc'!A0`` must not run on the analyst's machine). Every text cell starting with one
of those characters is written with a single quote in front, which spreadsheets show as text and
a reader can strip. Numbers, dates and booleans are written as they are (a negative amount stays
a number). The escaping is one SQL expression per text column over the whole report, written by
DuckDB's ``COPY`` (no Python loop over rows).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import duckdb

from warehouse import (
    DEFAULT_WAREHOUSE,
    WarehouseLockedError,
    WarehouseMissingError,
    open_warehouse,
)

# A text cell starting with one of these is escaped (OWASP's list for CSV injection).
DANGEROUS_FIRST_CHARACTERS = ("=", "+", "-", "@", "\t", "\r")
ESCAPE_PREFIX = "'"

# The documented exports (models/marts/compliance/_compliance__docs.md): file stem -> query.
REPORTS = {
    "large_transactions_monthly": (
        "select * from marts.rpt_large_transactions_monthly "
        "order by report_month, created_at, transaction_id"
    ),
    "sar_candidates": "select * from marts.rpt_sar_candidates order by due_date, alert_id",
}

TEXT_TYPES = ("VARCHAR", "JSON", "UUID")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def escaped_query(con: duckdb.DuckDBPyConnection, query: str) -> str:
    """``query`` with every text column's dangerous cells prefixed by a single quote."""
    columns = con.execute(f"DESCRIBE {query}").fetchall()
    dangerous = ", ".join(_literal(c) for c in DANGEROUS_FIRST_CHARACTERS)
    select = []
    for name, sql_type, *_ in columns:
        column = f"exported.{_ident(name)}"
        if str(sql_type).upper() in TEXT_TYPES:
            text = f"CAST({column} AS VARCHAR)"
            select.append(
                f"CASE WHEN left({text}, 1) IN ({dangerous}) "
                f"THEN {_literal(ESCAPE_PREFIX)} || {text} ELSE {text} END AS {_ident(name)}"
            )
        else:
            select.append(f"{column} AS {_ident(name)}")
    return f"SELECT {', '.join(select)} FROM ({query}) AS exported"


def export_csv(con: duckdb.DuckDBPyConnection, query: str, path: str | os.PathLike) -> int:
    """Write the rows of ``query`` to ``path`` as CSV (header row, comma, UTF-8), escaped;
    returns the number of rows written."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    escaped = escaped_query(con, query)
    con.execute(f"COPY ({escaped}) TO {_literal(str(target))} (FORMAT csv, HEADER)")
    return con.execute(f"SELECT count(*) FROM ({query}) AS exported").fetchone()[0]


def export_reports(
    warehouse: str | os.PathLike | None,
    out_dir: str | os.PathLike,
    names: list[str] | None = None,
) -> dict[str, int]:
    """Export the named reports (default: all of REPORTS) to ``<out_dir>/<name>.csv``, from
    ``warehouse`` (None: ``$EXCHANGE_WAREHOUSE``)."""
    names = names or list(REPORTS)
    unknown = [n for n in names if n not in REPORTS]
    if unknown:
        raise ValueError(f"unknown report {unknown[0]!r}; reports: {', '.join(REPORTS)}")
    with open_warehouse(warehouse, read_only=True) as con:
        return {n: export_csv(con, REPORTS[n], Path(out_dir) / f"{n}.csv") for n in names}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dashboard.export",
        description="Export the regulatory reports of the marts as CSV files that are safe to "
        "open in a spreadsheet (text cells starting with = + - @ tab or CR are escaped).",
    )
    parser.add_argument("reports", nargs="*", help=f"reports (default: all): {', '.join(REPORTS)}")
    parser.add_argument(
        "--warehouse",
        default=None,
        help=f"DuckDB file (default: $EXCHANGE_WAREHOUSE or {DEFAULT_WAREHOUSE})",
    )
    parser.add_argument("--out-dir", default="reports", help="folder of the CSV files (reports)")
    args = parser.parse_args(argv)
    try:
        written = export_reports(args.warehouse, args.out_dir, args.reports)
    except (ValueError, duckdb.Error, WarehouseLockedError, WarehouseMissingError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for name, rows in written.items():
        print(f"{Path(args.out_dir) / f'{name}.csv'}: {rows} rows")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
