"""The ``raw`` tables of the landing contract: one table per source table.

``raw.<table>``: the contract columns typed per ``contract.DUCKDB_TYPES``, then the provenance
columns (``_load_id``, ``_source_file`` relative to the landing directory, ``_row_number`` the
1-based record in the file, ``_loaded_at`` UTC), then any extra column a file brought, as VARCHAR
(added when first seen, never dropped: schema drift keeps its data). The schema and the
bookkeeping tables are the warehouse's (``warehouse/raw_schema.py``).
"""

from __future__ import annotations

import duckdb

from ingestion.contract import DUCKDB_TYPES, PROVENANCE_COLUMNS, SourceTable
from warehouse.raw_schema import RAW_SCHEMA, ident, raw_table_name

PROVENANCE_TYPES = {
    "_load_id": "VARCHAR",
    "_source_file": "VARCHAR",
    "_row_number": "BIGINT",
    "_loaded_at": "TIMESTAMP",
}
assert tuple(PROVENANCE_TYPES) == tuple(PROVENANCE_COLUMNS)


def ensure_raw_table(con: duckdb.DuckDBPyConnection, table: SourceTable) -> None:
    columns = [f"{ident(c.name)} {DUCKDB_TYPES[c.type]}" for c in table.columns]
    columns += [f"{ident(n)} {t}" for n, t in PROVENANCE_TYPES.items()]
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {raw_table_name(table)} (\n    "
        + ",\n    ".join(columns)
        + "\n)"
    )


def raw_table_columns(con: duckdb.DuckDBPyConnection, table: SourceTable) -> list[str]:
    rows = con.execute(
        "SELECT column_name FROM duckdb_columns() "
        "WHERE schema_name = ? AND table_name = ? AND database_name = current_database() "
        "ORDER BY column_index",
        [RAW_SCHEMA, table.name],
    ).fetchall()
    return [r[0] for r in rows]


def extra_column_names(table: SourceTable, extras: list[str]) -> dict[str, str]:
    """Names the extra columns take in the raw table: their own, unless the loader uses it.

    A file column named like a provenance column (or like the loader's ``_reason`` and
    ``_record``), or like a contract column in another case (``PRICE`` beside ``price``: keys
    that differ only in case), gets ``_extra`` appended.
    """
    reserved = {c.lower() for c in (*PROVENANCE_COLUMNS, "_reason", "_record", *table.column_names)}
    names: dict[str, str] = {}
    for extra in extras:
        name = extra
        while name.lower() in reserved:
            name = f"{name}_extra"
        names[extra] = name
    return names


def add_extra_columns(
    con: duckdb.DuckDBPyConnection, table: SourceTable, names: list[str]
) -> list[str]:
    """Add the columns the raw table lacks (as VARCHAR); returns those added."""
    if not names:
        return []
    existing = {c.lower() for c in raw_table_columns(con, table)}
    added = []
    for name in names:
        if name.lower() not in existing:
            con.execute(f"ALTER TABLE {raw_table_name(table)} ADD COLUMN {ident(name)} VARCHAR")
            existing.add(name.lower())
            added.append(name)
    return added
