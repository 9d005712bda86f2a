"""The warehouse's ``raw`` schema and the loaders' bookkeeping tables in it.

``raw._loaded_files``: one row per file loaded (status ``loaded``; a file whose content was
already loaded under another name is recorded with 0 rows and a message saying so) or moved
aside (``rejected``), with ``load_seconds`` the wall time of reading, checking and
inserting it. ``raw._quarantine``: one row per bad record, with its reason and the
original values as JSON text. Every program that lands rows (the file loaders, the PostgreSQL
extractor, the price feeds, the BigQuery staging session) keeps these tables; the raw tables
themselves are typed from the landing contract by ``ingestion/loaders/raw_schema.py``.
"""

from __future__ import annotations

import duckdb

RAW_SCHEMA = "raw"
LOADED_FILES = f"{RAW_SCHEMA}._loaded_files"
QUARANTINE = f"{RAW_SCHEMA}._quarantine"

BOOKKEEPING_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA};
CREATE TABLE IF NOT EXISTS {LOADED_FILES} (
    load_id VARCHAR NOT NULL,
    table_name VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    file_sha256 VARCHAR NOT NULL,
    file_bytes BIGINT NOT NULL,
    rows_loaded BIGINT NOT NULL,
    rows_quarantined BIGINT NOT NULL,
    status VARCHAR NOT NULL,
    message VARCHAR,
    loaded_at TIMESTAMP NOT NULL,
    load_seconds DOUBLE
);
-- warehouses created before load_seconds existed get it (NULL for their earlier files)
ALTER TABLE {LOADED_FILES} ADD COLUMN IF NOT EXISTS load_seconds DOUBLE;
CREATE TABLE IF NOT EXISTS {QUARANTINE} (
    table_name VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    row_number BIGINT,
    reason VARCHAR NOT NULL,
    record VARCHAR,
    load_id VARCHAR NOT NULL,
    quarantined_at TIMESTAMP NOT NULL
);
"""


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def raw_table_name(table) -> str:
    """``raw."<name>"`` of a table name or of anything with a ``name`` (a contract table)."""
    name = table if isinstance(table, str) else table.name
    return f"{RAW_SCHEMA}.{ident(name)}"


def ensure_bookkeeping(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(BOOKKEEPING_DDL)
