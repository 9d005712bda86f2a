"""Type names between PostgreSQL and DuckDB, for the two copies this package makes."""

from __future__ import annotations

import re

_NUMERIC = re.compile(r"numeric\((\d+),(\d+)\)")
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)", re.IGNORECASE)


def duckdb_type_for(pg_type: str) -> str:
    """The DuckDB type a PostgreSQL column (``format_type`` text) is read as; VARCHAR if unsure.

    VARCHAR is always safe: the file loader casts every value to its contract type anyway.
    """
    t = pg_type.lower().strip()
    m = _NUMERIC.fullmatch(t.replace(" ", ""))
    if m and int(m.group(1)) <= 38:
        return f"DECIMAL({m.group(1)},{m.group(2)})"
    if t.startswith("timestamp") and "with time zone" in t:
        return "TIMESTAMPTZ"
    if t.startswith("timestamp"):
        return "TIMESTAMP"
    return {
        "smallint": "SMALLINT",
        "integer": "INTEGER",
        "bigint": "BIGINT",
        "boolean": "BOOLEAN",
        "date": "DATE",
        "double precision": "DOUBLE",
        "real": "FLOAT",
    }.get(t, "VARCHAR")


def postgres_type_for(duckdb_type: str) -> str:
    """The PostgreSQL type a DuckDB column (``duckdb_columns().data_type``) is published as."""
    t = duckdb_type.upper().strip()
    m = _DECIMAL.fullmatch(t)
    if m:
        return f"numeric({m.group(1)},{m.group(2)})"
    if t in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"):
        return "timestamptz"
    if t.startswith("TIMESTAMP"):  # TIMESTAMP, TIMESTAMP_NS, TIMESTAMP_MS, TIMESTAMP_S
        return "timestamp"
    return {
        "VARCHAR": "text",
        "BOOLEAN": "boolean",
        "TINYINT": "smallint",
        "SMALLINT": "smallint",
        "INTEGER": "integer",
        "BIGINT": "bigint",
        "HUGEINT": "numeric(38,0)",
        "UTINYINT": "smallint",
        "USMALLINT": "integer",
        "UINTEGER": "bigint",
        "UBIGINT": "numeric(20,0)",
        "FLOAT": "real",
        "DOUBLE": "double precision",
        "DATE": "date",
        "TIME": "time",
        "UUID": "uuid",
        "INTERVAL": "interval",
        "JSON": "jsonb",
    }.get(t, "text")
