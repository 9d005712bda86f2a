"""Writes landing files: numpy columns in, one file per call out, through DuckDB's COPY.

Columns arrive as numpy/pyarrow arrays in the simulator's internal representation (ids as
integer counters, amounts as int64 units of 1e-8, times as int64 microseconds) and are rendered
to the contract's columns by DuckDB SQL: ids formatted as UUIDs, decimals with 8 places, text
timestamps in ISO-8601 with the table's zone suffix. Files appear atomically (written under
`_simulator/tmp`, then renamed); gzip runs in a background thread with a fixed header (mtime 0),
so the same input always gives the same bytes.
"""

from __future__ import annotations

import filecmp
import gzip
import os
import shutil
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from ingestion.contract import TABLES

from .config import FORMATS, MICROSECOND_TABLES
from .ids import uuid_array


@dataclass
class Uuid:
    """An id column: counters (-1 = NULL) of one entity, or of a per-row entity array."""

    counter: np.ndarray
    entity: int | np.ndarray


@dataclass
class Expr:
    """A column computed by a DuckDB expression over helper arrays: `{name}` placeholders."""

    sql: str
    helpers: dict = field(default_factory=dict)


def cat(codes: np.ndarray, categories, mask: np.ndarray | None = None) -> pa.DictionaryArray:
    """A text column from integer codes into a list of categories (NULL where mask)."""
    idx = pa.array(np.asarray(codes, dtype=np.int32), mask=mask)
    return pa.DictionaryArray.from_arrays(idx, pa.array(list(categories), pa.string()))


def nullable(values: np.ndarray, mask: np.ndarray) -> pa.Array:
    return pa.array(values, mask=np.asarray(mask, dtype=bool))


def _as_arrow(values) -> pa.Array:
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    return pa.array(values)


def _ts_array(values) -> pa.Array:
    arr = _as_arrow(values)
    if pa.types.is_timestamp(arr.type):
        return arr
    return (
        arr.cast(pa.int64()).view(pa.timestamp("us"))
        if isinstance(arr, pa.Array)
        else arr.cast(pa.timestamp("us"))
    )


BATCH_ROWS = 1 << 20


def _length(value) -> int:
    if isinstance(value, Uuid):
        return len(value.counter)
    if isinstance(value, Expr):
        return _length(next(iter(value.helpers.values())))
    return len(value)


def _plain_maker(value, timestamp: bool = False):
    if isinstance(value, (pa.Array, pa.ChunkedArray)):

        def make(a: int, b: int) -> pa.Array:
            part = value.slice(a, b - a)
            return _ts_array(part) if timestamp else part
    else:
        arr = np.asarray(value)

        def make(a: int, b: int) -> pa.Array:
            return _ts_array(arr[a:b]) if timestamp else pa.array(arr[a:b])

    return make


class _Source:
    """Rows to write, produced as Arrow record batches on demand."""

    def __init__(self, num_rows: int, makers: list):
        self.num_rows = num_rows
        self.makers = makers

    def batch(self, a: int, b: int) -> pa.RecordBatch:
        return pa.RecordBatch.from_arrays(
            [m(a, b) for _, m in self.makers], names=[n for n, _ in self.makers]
        )

    def reader(self) -> pa.RecordBatchReader:
        first = self.batch(0, min(self.num_rows, BATCH_ROWS))

        def batches():
            yield first
            for a in range(BATCH_ROWS, self.num_rows, BATCH_ROWS):
                yield self.batch(a, min(a + BATCH_ROWS, self.num_rows))

        return pa.RecordBatchReader.from_batches(first.schema, batches())


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class LandingWriter:
    def __init__(self, out: Path, seed_salt: int, threads: int = 2):
        self.out = Path(out)
        self.seed_salt = seed_salt
        self.tmp = self.out / "_simulator" / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect()
        self.con.execute(f"SET threads={threads}")
        # bounded so a large day's COPY buffers stay small beside the day's arrays (peak memory,
        # docs/reliability.md, "Scale and speed"); 1GB measured no slower than unbounded on a
        # 15M-row file
        self.con.execute("SET memory_limit='1GB'")
        self.con.execute("SET preserve_insertion_order=true")
        self.con.execute("SET enable_progress_bar=false")
        self.pool = ThreadPoolExecutor(max_workers=1)
        self.futures: list[Future] = []
        self.rows: dict[str, int] = defaultdict(int)
        self.files: dict[str, int] = defaultdict(int)
        self._seq = 0
        self.user_ids = None
        self.user_entity = -1

    # ------------------------------------------------------------------ rendering
    def uuids(self, value: Uuid) -> pa.Array:
        """Formatted ids; user ids (in nearly every table) come from a cache."""
        counter = np.asarray(value.counter, dtype=np.int64)
        if (
            isinstance(value.entity, (int, np.integer))
            and int(value.entity) == self.user_entity
            and self.user_ids is not None
            and counter.size > 1000
        ):
            valid = counter >= 0
            idx = pa.array(np.where(valid, counter, 0), mask=~valid)
            return self.user_ids.take(idx)
        return uuid_array(counter, value.entity, self.seed_salt)

    def cache_user_ids(self, n_users: int, entity: int) -> None:
        self.user_entity = entity
        self.user_ids = uuid_array(np.arange(n_users), entity, self.seed_salt)

    def _build(self, table: str, columns: dict, fmt: str, ts_suffix: str) -> tuple[_Source, str]:
        """A lazy source of Arrow record batches (ids formatted batch by batch, so memory stays
        bounded) and the SELECT that renders them to the contract's columns."""
        spec = TABLES[table]
        names = spec.column_names
        if set(columns) != set(names):
            raise ValueError(f"{table}: columns {sorted(columns)} != contract {sorted(names)}")
        makers: list[tuple[str, object]] = []
        selects = []
        ts_fmt = "%Y-%m-%dT%H:%M:%S.%f" if table in MICROSECOND_TABLES else "%Y-%m-%dT%H:%M:%S"
        for col in spec.columns:
            name, value = col.name, columns[col.name]
            q = f'"{name}"'
            if isinstance(value, Uuid):
                makers.append((name, self._uuid_maker(value)))
                selects.append(f"{q}::VARCHAR AS {q}")
                continue
            if isinstance(value, Expr):
                sql = value.sql
                for helper, arr in value.helpers.items():
                    makers.append((f"{name}__{helper}", _plain_maker(arr)))
                    sql = sql.replace("{" + helper + "}", f'"{name}__{helper}"')
                selects.append(f"({sql})::VARCHAR AS {q}")
                continue
            if col.type == "timestamp":
                makers.append((name, _plain_maker(value, timestamp=True)))
                if fmt == "parquet":
                    selects.append(f"{q}::TIMESTAMP AS {q}")
                else:
                    suffix = f" || {_sql_str(ts_suffix)}" if ts_suffix else ""
                    selects.append(f"strftime({q}, '{ts_fmt}'){suffix} AS {q}")
                continue
            makers.append((name, _plain_maker(value)))
            if col.type == "decimal":
                dec = f"({q}::DECIMAL(18,0) * 0.00000001)::DECIMAL(20,8)"
                selects.append(
                    f"{dec}::VARCHAR AS {q}" if fmt.startswith("jsonl") else f"{dec} AS {q}"
                )
            elif col.type == "integer":
                selects.append(f"{q}::INTEGER AS {q}")
            elif col.type == "boolean":
                selects.append(f"{q}::BOOLEAN AS {q}")
            else:
                selects.append(f"{q}::VARCHAR AS {q}")
        lengths = {_length(columns[c]) for c in names}
        if len(lengths) > 1:
            raise ValueError(f"{table}: columns of different lengths {lengths}")
        return _Source(lengths.pop(), makers), "SELECT " + ", ".join(selects) + " FROM __src"

    def _uuid_maker(self, value: Uuid):
        counter = np.asarray(value.counter, dtype=np.int64)
        scalar = isinstance(value.entity, (int, np.integer))
        entity = value.entity if scalar else np.asarray(value.entity)

        def make(a: int, b: int) -> pa.Array:
            return self.uuids(Uuid(counter[a:b], entity if scalar else entity[a:b]))

        return make

    def _copy(self, source: _Source, select: str, fmt: str, path: Path) -> None:
        self.con.register("__src", source.reader())
        try:
            if fmt == "parquet":
                options = "FORMAT parquet, COMPRESSION snappy"
            elif fmt.startswith("csv"):
                options = "FORMAT csv, HEADER true, DELIMITER ','"
            else:
                options = "FORMAT json"
            self.con.execute(f"COPY ({select}) TO '{path}' ({options})")
        finally:
            self.con.unregister("__src")

    def ts_suffix(self, table: str, day_index: int) -> str:
        style = FORMATS[table][1]
        if style == "alt":
            return "Z" if day_index % 2 == 0 else ""
        return style

    # ------------------------------------------------------------------ files
    def _tmp_path(self, ext: str) -> Path:
        self._seq += 1
        return self.tmp / f"part{self._seq:06d}.{ext}"

    def _install(self, src: Path, dest: Path) -> None:
        """Move a finished file into place, leaving an identical existing file untouched."""
        if dest.exists() and filecmp.cmp(src, dest, shallow=False):
            src.unlink()
            return
        os.replace(src, dest)

    def _gzip_install(self, src: Path, dest: Path) -> None:
        packed = src.with_suffix(src.suffix + ".gz")
        with (
            open(src, "rb") as raw,
            open(packed, "wb") as sink,
            gzip.GzipFile(filename="", mode="wb", fileobj=sink, compresslevel=1, mtime=0) as gz,
        ):
            shutil.copyfileobj(raw, gz, 1 << 22)
        src.unlink()
        self._install(packed, dest)

    def _finish(self, plain: Path, dest: Path, gz: bool) -> None:
        if gz:
            self.futures.append(self.pool.submit(self._gzip_install, plain, dest))
            if len(self.futures) > 8:  # bound the backlog of temp files
                self.futures.pop(0).result()
        else:
            self._install(plain, dest)

    def file_name(self, table: str, label: str, suffix: str = "", fmt: str | None = None) -> str:
        fmt = fmt or FORMATS[table][0]
        return f"{table}_{label}{suffix}.{fmt}"

    def write(
        self,
        table: str,
        label: str,
        columns: dict,
        day_index: int = 0,
        suffix: str = "",
        fmt: str | None = None,
    ) -> tuple[str, int]:
        """Write one file `<table>/<table>_<label><suffix>.<fmt>`; returns (file name, rows)."""
        fmt = fmt or FORMATS[table][0]
        arrow, select = self._build(table, columns, fmt, self.ts_suffix(table, day_index))
        if arrow.num_rows == 0 and fmt.startswith("jsonl"):
            return "", 0  # an empty JSON Lines file would not even say its columns: skip it
        folder = self.out / table
        folder.mkdir(parents=True, exist_ok=True)
        name = self.file_name(table, label, suffix, fmt)
        base_fmt = fmt[:-3] if fmt.endswith(".gz") else fmt
        plain = self._tmp_path(base_fmt)
        self._copy(arrow, select, base_fmt, plain)
        self._finish(plain, folder / name, fmt.endswith(".gz"))
        self.rows[table] += arrow.num_rows
        self.files[table] += 1
        return name, arrow.num_rows

    def render_lines(self, table: str, columns: dict, fmt: str, day_index: int) -> list[str]:
        """The text lines (CSV: header first) a file of these rows would hold."""
        arrow, select = self._build(table, columns, fmt, self.ts_suffix(table, day_index))
        plain = self._tmp_path(fmt)
        self._copy(arrow, select, fmt, plain)
        lines = plain.read_text(encoding="utf-8").splitlines()
        plain.unlink()
        return lines

    def write_text(self, table: str, name: str, lines: list[str], rows: int) -> None:
        folder = self.out / table
        folder.mkdir(parents=True, exist_ok=True)
        plain = self._tmp_path("txt")
        plain.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        self._finish(plain, folder / name, name.endswith(".gz"))
        self.rows[table] += rows
        self.files[table] += 1

    def close(self) -> None:
        for fut in self.futures:
            fut.result()
        self.futures.clear()
        self.pool.shutdown(wait=True)
        self.con.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def take_rows(columns: dict, idx: np.ndarray) -> dict:
    """The same columns restricted to rows `idx` (any column representation)."""
    idx = np.asarray(idx, dtype=np.int64)
    out = {}
    for name, value in columns.items():
        if isinstance(value, Uuid):
            entity = (
                value.entity
                if isinstance(value.entity, (int, np.integer))
                else np.asarray(value.entity)[idx]
            )
            out[name] = Uuid(np.asarray(value.counter)[idx], entity)
        elif isinstance(value, Expr):
            out[name] = Expr(value.sql, {k: _take(v, idx) for k, v in value.helpers.items()})
        else:
            out[name] = _take(value, idx)
    return out


def _take(value, idx: np.ndarray):
    if isinstance(value, (pa.Array, pa.ChunkedArray)):
        return value.take(pa.array(idx))
    return np.asarray(value)[idx]
