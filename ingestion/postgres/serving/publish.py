"""The DuckDB warehouse's ``raw`` schema -> PostgreSQL schema ``raw`` (``publish-raw``).

``dbt build --target postgres`` reads its sources from PostgreSQL; this copies them there from
the warehouse the loaders fill, so both targets build from the same raw rows.

Every table of the DuckDB ``raw`` schema is mirrored: same name, same columns (types mapped,
see pg_types.py; a column added in DuckDB by schema drift is added in PostgreSQL), rows sent
with ``COPY``. Incremental by load: tables with a ``_load_id`` (or ``load_id``) column are
compared per load id with ``raw._published_loads`` (what this command published before, with
row counts) and only the loads that are new or whose row count changed are sent; loads that
are gone from DuckDB are removed. Tables without a load id column are small bookkeeping tables
and are replaced whole. Each table is one PostgreSQL transaction, so a publish that stops
leaves every table either as before or published, and a re-run is a no-op. Rows written into
PostgreSQL's ``raw`` by something else (under load ids this command never published) are left
alone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from ingestion.loaders.readers import sql_literal
from warehouse import Limits, open_warehouse
from warehouse.raw_schema import ensure_bookkeeping

from ..connection import check_identifier, connect, qualified, quote_ident, redact
from ..pg_types import postgres_type_for

log = logging.getLogger("ingestion.postgres")

RAW_SCHEMA = "raw"
PUBLISHED = "_published_loads"
LOAD_ID_COLUMNS = ("_load_id", "load_id")
NULL_LOAD = "<null>"
WHOLE_TABLE = "<whole table>"


@dataclass
class TablePublish:
    table: str
    loads_published: int = 0
    loads_removed: int = 0
    rows_published: int = 0
    columns_added: list[str] = field(default_factory=list)
    replaced_whole: bool = False
    seconds: float = 0.0


@dataclass
class PublishReport:
    warehouse: str
    dsn: str
    schema: str
    tables: dict[str, TablePublish] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def rows_published(self) -> int:
        return sum(t.rows_published for t in self.tables.values())

    def to_dict(self) -> dict:
        return {
            "warehouse": self.warehouse,
            "dsn": self.dsn,
            "schema": self.schema,
            "rows_published": self.rows_published,
            "seconds": round(self.seconds, 2),
            "tables": {name: asdict(t) for name, t in self.tables.items()},
        }

    def summary(self) -> str:
        lines = [
            f"publish-raw {self.warehouse} -> {self.dsn} schema {self.schema}",
            f"{'table':<32}{'loads':>7}{'removed':>9}{'rows':>11}",
        ]
        for t in self.tables.values():
            loads = "whole" if t.replaced_whole else str(t.loads_published)
            lines.append(
                f"{t.table:<32}{loads:>7}{t.loads_removed:>9}{t.rows_published:>11}"
                + (f"   columns added: {', '.join(t.columns_added)}" if t.columns_added else "")
            )
        lines.append(f"total {self.rows_published} rows ({self.seconds:.1f}s)")
        return "\n".join(lines)


def _duckdb_columns(wh: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    return wh.execute(
        "select column_name, data_type from duckdb_columns() "
        "where database_name = current_database() and schema_name = ? and table_name = ? "
        "order by column_index",
        [RAW_SCHEMA, table],
    ).fetchall()


def _duckdb_tables(wh: duckdb.DuckDBPyConnection) -> list[str]:
    rows = wh.execute(
        "select table_name from duckdb_tables() "
        "where database_name = current_database() and schema_name = ? order by table_name",
        [RAW_SCHEMA],
    ).fetchall()
    return [r[0] for r in rows]


def _ensure_table(con, schema: str, table: str, columns: list[tuple[str, str]]) -> list[str]:
    """Create the PostgreSQL table, or add the columns it lacks; returns the columns added."""
    target = qualified(schema, table)
    with con.cursor() as cur:
        cur.execute("select to_regclass(%s)", [target])
        if cur.fetchone()[0] is None:
            definitions = ",\n    ".join(
                f"{quote_ident(n)} {postgres_type_for(t)}" for n, t in columns
            )
            cur.execute(f"create table {target} (\n    {definitions}\n)")
            return []
        cur.execute(
            "select attname from pg_attribute where attrelid = %s::regclass "
            "and attnum > 0 and not attisdropped",
            [target],
        )
        existing = {r[0] for r in cur.fetchall()}
        added = []
        for name, type_ in columns:
            if name not in existing:
                column = f"{quote_ident(name)} {postgres_type_for(type_)}"
                cur.execute(f"alter table {target} add column {column}")
                added.append(name)
        return added


def _copy(
    wh, con, schema: str, table: str, columns: list[str], where: str, params, work: Path
) -> int:
    names = ", ".join(map(quote_ident, columns))
    path = work / f"{table}.csv"
    wh.execute(
        f"copy (select {names} from {RAW_SCHEMA}.{quote_ident(table)} where {where}) "
        f"to {sql_literal(str(path))} (header, delimiter ',')",
        params,
    )
    with con.cursor() as cur, open(path, encoding="utf-8") as fh:
        cur.copy_expert(
            f"copy {qualified(schema, table)} ({names}) from stdin with (format csv, header true)",
            fh,
        )
        rows = cur.rowcount
    path.unlink()
    return rows


def _publish_table(wh, con, schema: str, table: str, work: Path) -> TablePublish:
    started = time.perf_counter()
    result = TablePublish(table)
    columns = _duckdb_columns(wh, table)
    names = [n for n, _ in columns]
    load_column = next((c for c in LOAD_ID_COLUMNS if c in names), None)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    published_table = qualified(schema, PUBLISHED)
    target = qualified(schema, table)
    try:
        with con.cursor() as cur:
            cur.execute(
                "select pg_advisory_xact_lock(hashtext(%s))", [f"publish-raw:{schema}.{table}"]
            )
            result.columns_added = _ensure_table(con, schema, table, columns)
            cur.execute(
                f"select load_id, rows from {published_table} where table_name = %s", [table]
            )
            published = dict(cur.fetchall())
            if load_column is None:
                # no load id to compare by: small bookkeeping tables, replaced whole
                cur.execute(f"delete from {target}")
                result.rows_published = _copy(wh, con, schema, table, names, "true", [], work)
                result.replaced_whole = True
                cur.execute(f"delete from {published_table} where table_name = %s", [table])
                cur.execute(
                    f"insert into {published_table} values (%s, %s, %s, %s)",
                    [table, WHOLE_TABLE, result.rows_published, now],
                )
                con.commit()
                return result
            key = f"coalesce({quote_ident(load_column)}, '{NULL_LOAD}')"
            current = dict(
                wh.execute(
                    f"select {key}, count(*) from {RAW_SCHEMA}.{quote_ident(table)} group by all"
                ).fetchall()
            )
            to_publish = sorted(k for k, n in current.items() if published.get(k) != n)
            to_remove = sorted(k for k in published if k not in current)
            if not to_publish and not to_remove and not result.columns_added:
                # commit, not roll back: keeps a table just created for an empty DuckDB table
                # (raw._deletions of a warehouse without deletes), which dbt reads as a source
                con.commit()
                return result
            stale = to_publish + to_remove
            if stale:
                cur.execute(f"delete from {target} where {key} = any(%s)", [stale])
                cur.execute(
                    f"delete from {published_table} where table_name = %s and load_id = any(%s)",
                    [table, stale],
                )
            for chunk_start in range(0, len(to_publish), 500):
                chunk = to_publish[chunk_start : chunk_start + 500]
                result.rows_published += _copy(
                    wh, con, schema, table, names, f"{key} in (select unnest(?))", [chunk], work
                )
            cur.executemany(
                f"insert into {published_table} values (%s, %s, %s, %s)",
                [(table, k, current[k], now) for k in to_publish],
            )
            result.loads_published = len(to_publish)
            result.loads_removed = len(to_remove)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    finally:
        result.seconds = time.perf_counter() - started
    return result


def publish_raw(
    warehouse: str | Path,
    dsn: str,
    schema: str = RAW_SCHEMA,
    tables: list[str] | str | None = None,
    *,
    settings: Limits | None = None,
) -> PublishReport:
    """Mirror the warehouse's raw tables (all, or ``tables``) into PostgreSQL ``schema``."""
    started = time.perf_counter()
    check_identifier(schema)
    warehouse = Path(warehouse)
    if not warehouse.exists():
        raise FileNotFoundError(f"warehouse {warehouse} does not exist")
    report = PublishReport(str(warehouse), redact(dsn), schema)
    with contextlib.ExitStack() as stack:
        wh = stack.enter_context(open_warehouse(warehouse, limits=settings))
        ensure_bookkeeping(wh)
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="publish_raw_")))
        con = connect(dsn)
        stack.callback(con.close)
        with con.cursor() as cur:
            cur.execute("select pg_advisory_xact_lock(hashtext(%s))", [f"publish-raw-ddl:{schema}"])
            cur.execute(f"create schema if not exists {quote_ident(schema)}")
            cur.execute(
                f"create table if not exists {qualified(schema, PUBLISHED)} ("
                "table_name text not null, load_id text not null, rows bigint not null, "
                "published_at timestamp not null, primary key (table_name, load_id))"
            )
        con.commit()
        available = _duckdb_tables(wh)
        if tables is None:
            names = available
        else:
            names = (
                [t.strip() for t in tables.split(",")] if isinstance(tables, str) else list(tables)
            )
            missing = [n for n in names if n not in available]
            if missing:
                raise ValueError(f"not in the warehouse's raw schema: {', '.join(missing)}")
        changed = []
        for table in names:
            result = _publish_table(wh, con, schema, table, work)
            report.tables[table] = result
            if result.rows_published or result.loads_removed:
                changed.append(table)
            log.info("%s: %d rows published", table, result.rows_published)
        # Planner statistics for the tables dbt is about to read.
        con.autocommit = True
        with con.cursor() as cur:
            for table in changed:
                cur.execute(f"analyze {qualified(schema, table)}")
        con.autocommit = False
    report.seconds = time.perf_counter() - started
    return report
