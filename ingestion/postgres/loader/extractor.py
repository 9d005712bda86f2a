"""Incremental extraction: the exchange's PostgreSQL database -> the DuckDB warehouse's raw tables.

Per table, a **cursor** remembers the last row extracted: the value of the cursor column and the
primary key as tiebreaker, compared as one row value ``(cursor_column, pk...) > (value, key...)``
(which the OLTP's ``(_changed_at, pk)`` index serves). The cursor column is the first present of:

1. ``_changed_at`` (the OLTP's change-tracking column, see oltp_schema.py): every insert and
   change, including late rows with an old event time and status changes of tables without
   ``updated_at``;
2. ``updated_at``: new and updated rows of the mutable tables that carry it;
3. the table's event time from the landing contract (``executed_at``, ``created_at``...): new
   rows only; a row inserted later with an older event time, or changed in place, is missed.

A run extracts each table in **batches** of at most ``batch_size`` rows, in cursor order:

1. Ask PostgreSQL for the cursor of the batch's last row (a keyset query on the index), then
   ``COPY`` the rows in ``(start, end]`` out as CSV (the OLTP holds one, latest, version of
   each key, so every batch carries the latest versions of the rows that changed).
2. Write them as ``<staging>/<table>/<table>_<end cursor>_<hash>.parquet`` (written under a
   temporary name and renamed; the Parquet key-value metadata ``exchange.extract`` records the
   batch's start and end cursors).
3. Load the file with the file loader's ``load_table``: the same typing, validation, quarantine
   and provenance (``_load_id``, ``_source_file``...) as a landing file, in one DuckDB
   transaction.
4. Only then advance the cursor (``raw._postgres_extract_cursors``), then delete the file.

A run that stops anywhere (connection dropped, process killed) resumes on the next run: a batch
file whose start is the committed cursor is loaded (the loader skips it if it was loaded
already) and the cursor moves to its end; anything else left in the folder is stale and
removed. A dropped connection is also retried within the run (``retries``). Re-running with
nothing new extracts nothing.

Deletes (docs/deletes.md): the OLTP's trigger-maintained tombstone table ``_deletions``
(oltp_schema.py) is extracted first, by the cursor ``(deleted_at, deletion_id)``, into
``raw._deletions``: its new rows and the advanced cursor in ONE DuckDB transaction, and rows
already landed (same source and ``deletion_id``) are never inserted twice. It goes before the
tables, so a key deleted and inserted again within one run lands its tombstone before the new
row, and staging (which marks a key deleted when its tombstone was loaded after its latest
version) sees it alive.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from ingestion.contract import TABLES
from ingestion.loaders import LoaderSettings, load_table, new_load_id
from ingestion.loaders.files import resolve_tables
from ingestion.loaders.readers import glob_escaped, path_literal
from ingestion.loaders.report import DUPLICATE, LOADED, REJECTED, SKIPPED
from warehouse import open_scratch, open_warehouse
from warehouse.raw_schema import ensure_bookkeeping

from ..connection import (
    check_identifier,
    connect,
    is_connection_error,
    qualified,
    quote_ident,
    redact,
)
from ..oltp_schema import CHANGED_AT, DEFAULT_SCHEMA, DELETIONS
from ..pg_types import duckdb_type_for

log = logging.getLogger("ingestion.postgres")

STAGING_FOLDER = "pg_extract"
CURSORS = "raw._postgres_extract_cursors"
METADATA_KEY = "exchange.extract"
DEFAULT_BATCH_SIZE = 250_000


def at_checkpoint(stage: str, table: str, path) -> None:
    """Called at "written" (a batch file is in place, not yet loaded) and "loaded" (loaded,
    cursor not yet advanced); does nothing. The crash tests replace it (monkeypatch) and raise
    from it, as the loader's `files.at_checkpoint`."""


CURSORS_DDL = f"""
create table if not exists {CURSORS} (
    source varchar not null,
    table_name varchar not null,
    cursor_column varchar not null,
    cursor_value varchar,
    cursor_key varchar,
    rows_extracted bigint not null,
    batches bigint not null,
    last_batch_file varchar,
    last_load_id varchar,
    updated_at timestamp not null,
    primary key (source, table_name)
)
"""


# raw._deletions: the same columns as the dbt on-run-start hook creates (macros/deletions.sql),
# so whichever runs first, the loaders or dbt, makes the table the other expects.
RAW_DELETIONS = "raw._deletions"
RAW_DELETIONS_DDL = f"""
create table if not exists {RAW_DELETIONS} (
    deletion_id bigint,
    table_name varchar,
    row_key varchar,
    deleted_at timestamp,
    _source varchar,
    _load_id varchar,
    _loaded_at timestamp
)
"""


class ExtractError(RuntimeError):
    """The extract cannot go on (a batch file was rejected, a table has no usable cursor)."""


@dataclass(frozen=True)
class Cursor:
    """The last row extracted: its cursor column value and its primary key, as PostgreSQL text."""

    value: str
    key: tuple[str, ...]

    def to_json(self) -> dict:
        return {"value": self.value, "key": list(self.key)}

    @classmethod
    def from_json(cls, data: dict | None) -> Cursor | None:
        return None if data is None else cls(data["value"], tuple(data["key"]))


@dataclass(frozen=True)
class SourceTableInfo:
    """A table as PostgreSQL has it: columns and types, primary key, the cursor to use."""

    schema: str
    name: str
    columns: dict[str, str]  # name -> format_type
    not_null: frozenset[str]
    primary_key: tuple[str, ...]
    cursor_column: str

    @property
    def qualified(self) -> str:
        return qualified(self.schema, self.name)

    @property
    def extracted_columns(self) -> list[str]:
        return [c for c in self.columns if c != CHANGED_AT]

    @property
    def cursor_expression(self) -> str:
        column = quote_ident(self.cursor_column)
        column_type = self.columns[self.cursor_column]
        if self.cursor_column not in self.not_null and column_type.startswith("timestamp"):
            # NULLs would fall out of a row comparison: they sort first, as -infinity.
            return f"coalesce({column}, '-infinity'::{column_type})"
        return column

    @property
    def order_columns(self) -> list[str]:
        return [self.cursor_expression, *map(quote_ident, self.primary_key)]

    @property
    def order_types(self) -> list[str]:
        return [self.columns[c] for c in (self.cursor_column, *self.primary_key)]


@dataclass
class TableExtract:
    table: str
    cursor_column: str = ""
    batches: int = 0
    rows: int = 0
    rows_quarantined: int = 0
    resumed_batches: int = 0
    retries: int = 0
    cursor: dict | None = None
    seconds: float = 0.0


@dataclass
class ExtractReport:
    dsn: str
    schema: str
    warehouse: str
    load_id: str
    tables: dict[str, TableExtract] = field(default_factory=dict)
    skipped_tables: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables.values())

    def to_dict(self) -> dict:
        return {
            "dsn": self.dsn,
            "schema": self.schema,
            "warehouse": self.warehouse,
            "load_id": self.load_id,
            "rows": self.rows,
            "seconds": round(self.seconds, 2),
            "skipped_tables": self.skipped_tables,
            "tables": {name: asdict(t) for name, t in self.tables.items()},
        }

    def summary(self) -> str:
        lines = [
            f"extract {self.dsn} schema {self.schema} -> {self.warehouse} (load {self.load_id})",
            f"{'table':<22}{'cursor':<14}{'batches':>8}{'rows':>10}{'quarantined':>13}{'resumed':>9}",
        ]
        for t in self.tables.values():
            lines.append(
                f"{t.table:<22}{t.cursor_column:<14}{t.batches:>8}{t.rows:>10}"
                f"{t.rows_quarantined:>13}{t.resumed_batches:>9}"
            )
        if self.skipped_tables:
            lines.append("not in the source schema: " + ", ".join(self.skipped_tables))
        lines.append(f"total {self.rows} rows ({self.seconds:.1f}s)")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------
# PostgreSQL side


def describe_table(con, schema: str, table: str) -> SourceTableInfo | None:
    """Columns, primary key and cursor column of a source table; None when it does not exist."""
    with con.cursor() as cur:
        cur.execute("select to_regclass(%s)", [qualified(schema, table)])
        (oid,) = cur.fetchone()
        if oid is None:
            return None
        cur.execute(
            "select attname, format_type(atttypid, atttypmod), attnotnull from pg_attribute "
            "where attrelid = %s::regclass and attnum > 0 and not attisdropped order by attnum",
            [qualified(schema, table)],
        )
        rows = cur.fetchall()
        cur.execute(
            "select a.attname from pg_index as i "
            "cross join lateral unnest(i.indkey) with ordinality as k(attnum, position) "
            "join pg_attribute as a on a.attrelid = i.indrelid and a.attnum = k.attnum "
            "where i.indrelid = %s::regclass and i.indisprimary order by k.position",
            [qualified(schema, table)],
        )
        primary_key = tuple(r[0] for r in cur.fetchall())
    con.commit()
    columns = {name: type_ for name, type_, _ in rows}
    not_null = frozenset(name for name, _, nn in rows if nn)
    spec = TABLES.get(table)
    if not primary_key and spec is not None:
        primary_key = spec.primary_key
    if not primary_key:
        raise ExtractError(f"{schema}.{table} has no primary key to order its rows by")
    candidates = [CHANGED_AT, "updated_at"] + ([spec.event_time] if spec else [])
    cursor_column = next((c for c in candidates if c in columns), None)
    if cursor_column is None:
        raise ExtractError(
            f"{schema}.{table}: no cursor column (looked for {', '.join(candidates)})"
        )
    return SourceTableInfo(schema, table, columns, not_null, primary_key, cursor_column)


def _after(info: SourceTableInfo, start: Cursor | None, cur) -> str:
    """SQL condition: rows after the cursor (true without one)."""
    if start is None:
        return "true"
    values = [start.value, *start.key]
    placeholders = ", ".join(f"%s::{t}" for t in info.order_types)
    return cur.mogrify(f"({', '.join(info.order_columns)}) > ({placeholders})", values).decode()


def _end_of_batch(con, info: SourceTableInfo, start: Cursor | None, size: int) -> Cursor | None:
    """The cursor of the last row of the next batch (the size-th row after start, or the last)."""
    text_columns = ", ".join(f"({c})::text" for c in info.order_columns)
    order = ", ".join(info.order_columns)
    with con.cursor() as cur:
        after = _after(info, start, cur)
        cur.execute(
            f"select {text_columns} from {info.qualified} where {after} "
            f"order by {order} offset %s limit 1",
            [size - 1],
        )
        row = cur.fetchone()
        if row is None:
            cur.execute(
                f"select {text_columns} from {info.qualified} where {after} "
                f"order by {', '.join(c + ' desc' for c in info.order_columns)} limit 1"
            )
            row = cur.fetchone()
    con.commit()
    return None if row is None else Cursor(row[0], tuple(row[1:]))


def _copy_batch(con, info: SourceTableInfo, start: Cursor | None, end: Cursor, path: Path) -> None:
    columns = ", ".join(map(quote_ident, info.extracted_columns))
    placeholders = ", ".join(f"%s::{t}" for t in info.order_types)
    with con.cursor() as cur:
        until = cur.mogrify(
            f"({', '.join(info.order_columns)}) <= ({placeholders})", [end.value, *end.key]
        ).decode()
        sql = (
            f"copy (select {columns} from {info.qualified} where {_after(info, start, cur)} "
            f"and {until} order by {', '.join(info.order_columns)}) "
            "to stdout with (format csv, header true)"
        )
        with open(path, "w", encoding="utf-8", newline="") as fh:
            cur.copy_expert(sql, fh)
    con.commit()


# --------------------------------------------------------------------------------------
# files


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _write_parquet(info: SourceTableInfo, csv_path: Path, parquet_path: Path, meta: dict) -> int:
    """CSV from COPY -> typed Parquet with the batch's cursors in its key-value metadata."""
    types = ", ".join(
        f"{_sql_string(c)}: {_sql_string(duckdb_type_for(info.columns[c]))}"
        for c in info.extracted_columns
    )
    with open_scratch() as con:
        relation = (
            f"read_csv({path_literal(csv_path)}, header = true, auto_detect = false, "
            f"delim = ',', quote = '\"', escape = '\"', allow_quoted_nulls = false, "
            f"columns = {{{types}}})"
        )
        con.execute(f"create temp table batch as select * from {relation}")
        rows = con.execute("select count(*) from batch").fetchone()[0]
        meta = meta | {"rows": rows}
        con.execute(
            f"copy batch to {_sql_string(str(parquet_path))} "
            f"(format parquet, kv_metadata {{{_sql_string(METADATA_KEY)}: "
            f"{_sql_string(json.dumps(meta, sort_keys=True))}}})"
        )
    return rows


def read_batch_metadata(path: Path) -> dict | None:
    try:
        with open_scratch() as con:
            rows = con.execute(
                "select decode(key), decode(value) from parquet_kv_metadata(?)",
                [glob_escaped(path)],
            ).fetchall()
    except duckdb.Error as e:
        log.warning("%s: unreadable batch file (%s)", path, str(e).splitlines()[0])
        return None
    for key, value in rows:
        if key == METADATA_KEY:
            return json.loads(value)
    return None


def batch_file_name(table: str, end: Cursor) -> str:
    digest = hashlib.sha256(json.dumps(end.to_json()).encode()).hexdigest()[:10]
    stamp = "".join(ch for ch in end.value if ch.isalnum())[:24] or "start"
    return f"{table}_{stamp}_{digest}.parquet"


# --------------------------------------------------------------------------------------
# DuckDB side


def _read_cursor(
    wh: duckdb.DuckDBPyConnection, source: str, table: str
) -> tuple[Cursor | None, str | None]:
    row = wh.execute(
        f"select cursor_value, cursor_key, cursor_column from {CURSORS} "
        "where source = ? and table_name = ?",
        [source, table],
    ).fetchone()
    if row is None or row[0] is None:
        return None, None if row is None else row[2]
    return Cursor(row[0], tuple(json.loads(row[1]))), row[2]


def _advance_cursor(
    wh: duckdb.DuckDBPyConnection,
    source: str,
    info: SourceTableInfo,
    end: Cursor,
    rows: int,
    batch_file: str,
    load_id: str,
) -> None:
    wh.execute(
        f"""insert into {CURSORS} as c values (?, ?, ?, ?, ?, ?, 1, ?, ?, ?)
        on conflict (source, table_name) do update set
            cursor_column = excluded.cursor_column,
            cursor_value = excluded.cursor_value,
            cursor_key = excluded.cursor_key,
            rows_extracted = c.rows_extracted + excluded.rows_extracted,
            batches = c.batches + 1,
            last_batch_file = excluded.last_batch_file,
            last_load_id = excluded.last_load_id,
            updated_at = excluded.updated_at""",
        [
            source,
            info.name,
            info.cursor_column,
            end.value,
            json.dumps(list(end.key)),
            rows,
            batch_file,
            load_id,
            dt.datetime.now(dt.UTC).replace(tzinfo=None),
        ],
    )


def source_name(con, schema: str) -> str:
    """Names the source in the cursor table: database and schema (one cursor set per OLTP)."""
    with con.cursor() as cur:
        cur.execute("select current_database()")
        (database,) = cur.fetchone()
    con.commit()
    return f"postgres:{database}/{schema}"


# --------------------------------------------------------------------------------------
# one table


class _TableRun:
    def __init__(self, extractor: _Extractor, info: SourceTableInfo):
        self.x = extractor
        self.info = info
        self.folder = extractor.staging / info.name
        self.result = TableExtract(info.name, info.cursor_column)

    def _committed(self) -> Cursor | None:
        cursor, column = _read_cursor(self.x.wh, self.x.source, self.info.name)
        if cursor is not None and column != self.info.cursor_column:
            log.warning(
                "%s: the cursor column changed from %s to %s: extracting from the start",
                self.info.name,
                column,
                self.info.cursor_column,
            )
            return None
        return cursor

    def _pending(self, committed: Cursor | None) -> tuple[Path, dict] | None:
        """The batch file a stopped run left for the committed cursor; removes stale ones."""
        if not self.folder.is_dir():
            return None
        found = None
        for path in sorted(self.folder.iterdir()):
            if path.name.startswith(".") and path.name.endswith(".tmp"):
                path.unlink()  # an interrupted write
                continue
            if not (path.is_file() and path.suffix == ".parquet"):
                continue
            meta = read_batch_metadata(path)
            start = Cursor.from_json(meta.get("start")) if meta else None
            end = Cursor.from_json(meta.get("end")) if meta else None
            if meta and found is None and start == committed and end is not None:
                found = (path, meta)
            else:
                if meta is None or end != committed:
                    log.warning("%s: removing stale batch file %s", self.info.name, path.name)
                path.unlink()
        return found

    def _load(self, path: Path, end: Cursor, rows: int, resumed: bool) -> None:
        report = load_table(self.x.wh, self.x.staging, self.info.name, load_id=self.x.load_id)
        relative = path.relative_to(self.x.staging).as_posix()
        mine = [f for f in report.files if f.source_file == relative]
        others = [f for f in report.files if f.source_file != relative and f.status == LOADED]
        if others:  # _pending() leaves nothing else in the folder
            raise ExtractError(f"{self.info.name}: unexpected files loaded: {others}")
        if not mine or mine[0].status == REJECTED:
            message = mine[0].message if mine else "not seen by the loader"
            raise ExtractError(f"{relative}: the loader did not load the batch: {message}")
        if mine[0].status in (SKIPPED, DUPLICATE):
            log.info("%s: %s was loaded before the run stopped", self.info.name, relative)
        self.result.rows_quarantined += mine[0].rows_quarantined
        at_checkpoint("loaded", self.info.name, path)
        self.x.wh.begin()
        try:
            _advance_cursor(
                self.x.wh, self.x.source, self.info, end, rows, relative, self.x.load_id
            )
            self.x.wh.commit()
        except BaseException:
            self.x.wh.rollback()
            raise
        path.unlink()
        self.result.batches += 1
        self.result.rows += rows
        self.result.resumed_batches += int(resumed)
        self.result.cursor = end.to_json()

    def run(self) -> TableExtract:
        started = time.perf_counter()
        self.folder.mkdir(parents=True, exist_ok=True)
        committed = self._committed()
        pending = self._pending(committed)
        if pending is not None:
            path, meta = pending
            log.info("%s: resuming with %s", self.info.name, path.name)
            end = Cursor.from_json(meta["end"])
            self._load(path, end, int(meta["rows"]), resumed=True)
            committed = end
        while True:
            try:
                done, committed = self._batch(committed)
            except Exception as e:
                if not is_connection_error(e) or self.result.retries >= self.x.retries:
                    raise
                self.result.retries += 1
                log.warning(
                    "%s: connection lost (%s); reconnecting (retry %d of %d)",
                    self.info.name,
                    str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__,
                    self.result.retries,
                    self.x.retries,
                )
                self.x.reconnect(self.result.retries)
                continue
            if done:
                break
        self.result.seconds = time.perf_counter() - started
        return self.result

    def _batch(self, start: Cursor | None) -> tuple[bool, Cursor | None]:
        con = self.x.pg
        end = _end_of_batch(con, self.info, start, self.x.batch_size)
        if end is None:
            return True, start
        name = batch_file_name(self.info.name, end)
        path = self.folder / name
        csv_tmp = self.folder / f".{name}.csv.tmp"
        parquet_tmp = self.folder / f".{name}.tmp"
        try:
            _copy_batch(con, self.info, start, end, csv_tmp)
            meta = {
                "source": self.x.source,
                "table": self.info.name,
                "cursor_column": self.info.cursor_column,
                "start": start.to_json() if start else None,
                "end": end.to_json(),
            }
            rows = _write_parquet(self.info, csv_tmp, parquet_tmp, meta)
            os.replace(parquet_tmp, path)
        finally:
            csv_tmp.unlink(missing_ok=True)
            parquet_tmp.unlink(missing_ok=True)
        at_checkpoint("written", self.info.name, path)
        self._load(path, end, rows, resumed=False)
        log.info("%s: batch of %d rows up to %s", self.info.name, rows, end.value)
        return rows < self.x.batch_size, end


# --------------------------------------------------------------------------------------
# tombstones


def _extract_deletions(x: _Extractor) -> TableExtract | None:
    """New rows of the OLTP's ``_deletions`` -> ``raw._deletions``; None when it has none.

    Deletes are rare: one COPY of everything after the cursor, then one DuckDB transaction
    that inserts the rows not yet landed and advances the cursor.
    """
    started = time.perf_counter()
    table = qualified(x.schema, DELETIONS)
    with x.pg.cursor() as cur:
        cur.execute("select to_regclass(%s)", [table])
        (exists,) = cur.fetchone()
    x.pg.commit()
    if exists is None:
        log.warning("%s does not exist: deletes are not propagated", table)
        return None
    info = SourceTableInfo(
        x.schema,
        DELETIONS,
        {"deletion_id": "bigint", "deleted_at": "timestamp with time zone"},
        frozenset({"deletion_id", "deleted_at"}),
        ("deletion_id",),
        "deleted_at",
    )
    result = TableExtract(DELETIONS, "deleted_at")
    start = x_cursor = _read_cursor(x.wh, x.source, DELETIONS)[0]
    folder = x.staging / DELETIONS
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / f".{x.load_id}.csv.tmp"
    try:
        with x.pg.cursor() as cur:
            after = _after(info, start, cur)
            sql = (
                "copy (select deletion_id, table_name, row_key, "
                "to_char(deleted_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') as deleted_at, "
                f"deleted_at::text as cursor_value from {table} where {after} "
                "order by deleted_at, deletion_id) to stdout with (format csv, header true)"
            )
            with open(csv_path, "w", encoding="utf-8", newline="") as fh:
                cur.copy_expert(sql, fh)
        x.pg.commit()
        relation = (
            f"read_csv({path_literal(csv_path)}, header = true, auto_detect = false, "
            "delim = ',', quote = '\"', escape = '\"', allow_quoted_nulls = false, columns = "
            "{'deletion_id': 'BIGINT', 'table_name': 'VARCHAR', 'row_key': 'VARCHAR', "
            "'deleted_at': 'TIMESTAMP', 'cursor_value': 'VARCHAR'})"
        )
        wh = x.wh
        wh.execute(RAW_DELETIONS_DDL)
        wh.begin()
        try:
            wh.execute(f"create or replace temp table new_deletions as select * from {relation}")
            rows, last = wh.execute(
                "select count(*), arg_max([cursor_value, cast(deletion_id as varchar)], "
                "(deleted_at, deletion_id)) from new_deletions"
            ).fetchone()
            if rows:
                wh.execute(
                    f"insert into {RAW_DELETIONS} "
                    "select n.deletion_id, n.table_name, n.row_key, n.deleted_at, ?, ?, "
                    "cast(now() at time zone 'UTC' as timestamp) from new_deletions as n "
                    f"where not exists (select 1 from {RAW_DELETIONS} as d "
                    "where d._source = ? and d.deletion_id = n.deletion_id)",
                    [x.source, x.load_id, x.source],
                )
                x_cursor = Cursor(last[0], (last[1],))
                _advance_cursor(wh, x.source, info, x_cursor, rows, "", x.load_id)
            wh.execute("drop table new_deletions")
            wh.commit()
        except BaseException:
            wh.rollback()
            raise
    finally:
        csv_path.unlink(missing_ok=True)
    result.rows = int(rows)
    result.batches = int(rows > 0)
    result.cursor = x_cursor.to_json() if x_cursor else None
    result.seconds = time.perf_counter() - started
    return result


# --------------------------------------------------------------------------------------
# entry point


class _Extractor:
    def __init__(self, dsn, schema, wh, staging, load_id, batch_size, retries):
        self.dsn = dsn
        self.schema = schema
        self.wh = wh
        self.staging = staging
        self.load_id = load_id
        self.batch_size = batch_size
        self.retries = retries
        self.pg = connect(dsn)
        self.source = source_name(self.pg, schema)

    def reconnect(self, attempt: int) -> None:
        with contextlib.suppress(Exception):  # the connection is broken already
            self.pg.close()
        time.sleep(min(2 ** (attempt - 1), 10) * self.backoff)
        self.pg = connect(self.dsn)

    backoff = 1.0

    def close(self) -> None:
        self.pg.close()


def extract(
    dsn: str,
    warehouse: str | Path,
    schema: str = DEFAULT_SCHEMA,
    tables: list[str] | str | None = None,
    *,
    staging_dir: str | Path | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    retries: int = 3,
    reset: bool = False,
    settings: LoaderSettings | None = None,
) -> ExtractReport:
    """Extract what changed in the PostgreSQL source since the last run into ``raw.<table>``.

    ``tables``: names or a comma-separated string (default: every contract table the source
    schema has). ``staging_dir``: where batch files wait for the loader (default
    ``<warehouse dir>/pg_extract``). ``reset``: forget the cursors of these tables first, so
    everything is extracted again (as new versions: staging keeps the latest).
    """
    started = time.perf_counter()
    check_identifier(schema)
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    warehouse = Path(warehouse)
    staging = Path(staging_dir) if staging_dir else warehouse.parent / STAGING_FOLDER
    staging.mkdir(parents=True, exist_ok=True)
    names = resolve_tables(tables)
    load_id = new_load_id()
    report = ExtractReport(redact(dsn), schema, str(warehouse), load_id)
    with open_warehouse(warehouse, limits=settings or LoaderSettings.from_env()) as wh:
        ensure_bookkeeping(wh)
        wh.execute(CURSORS_DDL)
        extractor = _Extractor(dsn, schema, wh, staging, load_id, batch_size, retries)
        try:
            if reset:
                wh.execute(
                    f"delete from {CURSORS} where source = ? and table_name in (select unnest(?))",
                    [extractor.source, names],
                )
            # tombstones first (see the module docstring)
            deletions = _extract_deletions(extractor)
            if deletions is not None:
                report.tables[DELETIONS] = deletions
            for name in names:
                info = describe_table(extractor.pg, schema, name)
                if info is None:
                    report.skipped_tables.append(name)
                    log.warning("%s.%s does not exist: skipped", schema, name)
                    continue
                report.tables[name] = _TableRun(extractor, info).run()
        finally:
            extractor.close()
        try:
            wh.execute("checkpoint")
        except duckdb.Error as e:  # another transaction open: the WAL is folded in later
            log.debug("no checkpoint after the extract: %s", e)
    report.seconds = time.perf_counter() - started
    return report
