"""How each landing file is read: a :class:`Source` giving the values as they are in the file.

A source is a relation (a DuckDB reader call, or for broken files a temp table) that the
validation SELECT reads from. The loader materialises that SELECT into a temp table per file;
DuckDB keeps insertion order (``preserve_insertion_order``, set by the loader) so the rows of
that freshly created table are in file order and ``rowid + 1`` is each row's 1-based record
number in the file, while the read itself stays parallel (``row_number() over ()`` or
``WITH ORDINALITY`` would force one thread). ``tests/python/test_loaders.py`` checks this on
files of many chunks and row groups.

* CSV (``.csv``, ``.csv.gz``): the header is read here (the names, nothing else), then DuckDB's
  ``read_csv`` reads every column as VARCHAR with the dialect fixed by the contract (comma,
  double quote, header row; an empty field is NULL), no sniffing.
* JSON lines (``.jsonl``, ``.jsonl.gz``): one pass collects every key of every object (so a key
  that first appears on the last line is still kept), then ``read_json`` reads those keys as
  VARCHAR (objects and arrays as JSON text; numbers as DuckDB prints the double it parsed,
  so a decimal of more than 15 significant digits should be written as a JSON string).
* Parquet: ``read_parquet`` with the file's own types; the SQL casts from them.

When DuckDB's strict reader refuses a CSV or JSON-lines file for a structural fault in some
records (a row with the wrong number of fields, an unterminated quote, a malformed JSON line,
invalid UTF-8 in a line), the file is parsed again here, record by record, and the records that
cannot be parsed go to quarantine with their record number, so the rest of the file still loads.
That slow path only ever runs on broken files.

A file that cannot be read at all (corrupt or truncated gzip, not Parquet, binary data, a header
that is not UTF-8, no record parseable) raises :class:`UnreadableFileError`.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingestion.contract import FILE_SUFFIXES

from .validation import SourceColumn

ROW_NUMBER_COLUMN = "__loader_row_number"
HEADER_MAX_BYTES = 1 << 20
FIELD_MAX_CHARS = 1 << 26  # the slow path takes longer fields than DuckDB (2 MB lines)
STAGE = "_loader_stage"

# DuckDB errors that mean "this file does not read as its format" (not: out of memory, a bug).
READ_ERRORS = (duckdb.IOException, duckdb.InvalidInputException, duckdb.ConversionException)


class UnreadableFileError(Exception):
    """The file cannot be read as its format: it is moved aside, nothing of it loads."""


@dataclass
class Source:
    path: Path
    format: str  # csv, jsonl, parquet
    relation: str  # what the validation SELECT reads FROM (aliased src)
    columns: list[SourceColumn]
    row_number_expr: str | None = None  # None: rows arrive in file order, numbered by position
    parser: str = "duckdb"  # "duckdb", or "python" for the record-by-record slow path
    malformed_relation: str | None = None  # temp table (row_number, reason, record)
    malformed_rows: int = 0

    @property
    def can_reparse(self) -> bool:
        """True when a read error may come from some bad records, not from the whole file."""
        return self.parser == "duckdb" and self.format in ("csv", "jsonl")


def file_format(path: Path) -> str | None:
    """``csv``, ``jsonl`` or ``parquet`` from the file name (``contract.FILE_SUFFIXES``), or
    None for any other file."""
    name = path.name.lower()
    for suffix in FILE_SUFFIXES:
        if name.endswith(suffix):
            return suffix.removesuffix(".gz").lstrip(".")
    return None


def is_gzip(path: Path) -> bool:
    return path.name.lower().endswith(".gz")


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def path_literal(path: Path | str) -> str:
    """A file path as a SQL string for DuckDB's readers, which treat ``*``, ``?`` and ``[`` as
    glob patterns: each is written as a one-character class (``[*]``), so a landing file named
    ``*.csv`` reads that file alone, never its whole folder."""
    return sql_literal(glob_escaped(path))


def glob_escaped(path: Path | str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", str(path))


def _columns_struct(names: list[str]) -> str:
    return "{" + ", ".join(f"{sql_literal(n)}: 'VARCHAR'" for n in names) + "}"


def unique_names(names: list[str]) -> list[str]:
    """Column names made usable: blanks named ``column<N>``, duplicates (ignoring case) suffixed."""
    seen: set[str] = set()
    result: list[str] = []
    for i, raw in enumerate(names, start=1):
        name = raw.strip() or f"column{i}"
        candidate, n = name, 1
        while candidate.lower() in seen:
            n += 1
            candidate = f"{name}_{n}"
        seen.add(candidate.lower())
        result.append(candidate)
    return result


def source_columns(names: list[str], staged: list[str] | None = None) -> list[SourceColumn]:
    """Columns staged under usable names (:func:`unique_names`), each keeping its name in the
    file where the two differ: ``price`` and ``PRICE`` are staged as ``price`` and ``PRICE_2``,
    and the plan still knows which one was spelled like the contract column."""
    staged = staged or unique_names(names)
    return [
        SourceColumn(s, file_name=None if s == n else n) for s, n in zip(staged, names, strict=True)
    ]


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _open_binary(path: Path):
    return gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")  # noqa: SIM115


def _read_error(path: Path, error: BaseException) -> str:
    """The reason a file cannot be read, naming a broken gzip stream as such."""
    if is_gzip(path) and isinstance(error, (EOFError, zlib.error, gzip.BadGzipFile)):
        return f"truncated or corrupt gzip file: {error}"
    return f"cannot read file: {error}"


def _compression(path: Path) -> str:
    return "gzip" if is_gzip(path) else "none"


# --------------------------------------------------------------------------------------
# opening a file


def open_source(con: duckdb.DuckDBPyConnection, path: Path) -> Source:
    """How to read ``path``; raises :class:`UnreadableFileError` for a file that cannot be read."""
    fmt = file_format(path)
    if fmt == "csv":
        return _csv_source(path)
    if fmt == "jsonl":
        return _jsonl_source(con, path)
    if fmt == "parquet":
        return _parquet_source(con, path)
    raise UnreadableFileError(f"not a landing file format: {path.name}")


def reparse(con: duckdb.DuckDBPyConnection, source: Source, why: str) -> Source:
    """The slow path for a CSV or JSON-lines file DuckDB's strict reader refused."""
    if source.format == "csv":
        return _csv_records(con, source.path, why)
    if source.format == "jsonl":
        return _jsonl_records(con, source.path, why)
    raise UnreadableFileError(why)


def drop_temp_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Drop what the slow path staged (nothing is left behind between files)."""
    for table in (STAGE, f"{STAGE}_malformed"):
        con.execute(f"DROP TABLE IF EXISTS {table}")


def _empty(path: Path, fmt: str) -> Source:
    return Source(path, fmt, "(SELECT 1 WHERE false)", [])


# --------------------------------------------------------------------------------------
# CSV


def read_csv_header(path: Path) -> list[str] | None:
    """The column names of a CSV file, or None when the file holds nothing at all."""
    try:
        with _open_binary(path) as fh:
            head = fh.read(HEADER_MAX_BYTES)
    except (OSError, EOFError, zlib.error) as e:
        raise UnreadableFileError(_read_error(path, e)) from e
    if not head.strip():
        return None
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnreadableFileError("the file is not UTF-8: it is UTF-16 (byte-order mark)")
    line = head.split(b"\n", 1)[0].rstrip(b"\r")
    if b"\x00" in line:
        raise UnreadableFileError("binary data where a CSV header row was expected")
    try:
        text = line.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UnreadableFileError(f"{not_utf8('CSV header row', line)}: {e.reason}") from e
    try:
        names = next(csv.reader([text]))
    except (csv.Error, StopIteration) as e:
        raise UnreadableFileError(f"CSV header row cannot be parsed: {e}") from e
    if not names or all(not n.strip() for n in names):
        raise UnreadableFileError("CSV header row is empty")
    return names


def _csv_source(path: Path) -> Source:
    header = read_csv_header(path)
    if header is None:
        return _empty(path, "csv")
    columns = source_columns(header)
    relation = (
        f"read_csv({path_literal(path)}, header = true, auto_detect = false, "
        f"columns = {_columns_struct([c.name for c in columns])}, delim = ',', quote = '\"', "
        f"escape = '\"', strict_mode = true, compression = '{_compression(path)}')"
    )
    return Source(path, "csv", relation, columns)


def _csv_records(con, path: Path, why: str) -> Source:
    """Parse record by record; records that do not parse are quarantined, the rest staged."""
    header = read_csv_header(path) or []
    width = len(header)
    values: list[list[str | None]] = [[] for _ in header]
    row_numbers: list[int] = []
    malformed: list[tuple[int, str, str]] = []
    field_limit = csv.field_size_limit(FIELD_MAX_CHARS)
    try:
        with _open_binary(path) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline="")
            reader = csv.reader(text, strict=True)
            next(reader, None)  # header
            record_number = 0
            while True:
                try:
                    record = next(reader)
                except StopIteration:
                    break
                except csv.Error as e:
                    record_number += 1
                    malformed.append((record_number, f"malformed CSV record: {e}", "{}"))
                    continue
                if not record:  # a blank line is no record (DuckDB skips it too)
                    continue
                record_number += 1
                if any(_has_surrogates(v) for v in record):
                    shown = [_replace_surrogates(v) for v in record]
                    data = b",".join(v.encode("utf-8", "surrogateescape") for v in record)
                    malformed.append(
                        (
                            record_number,
                            not_utf8("record", data),
                            json.dumps({"_fields": shown}),
                        )
                    )
                elif len(record) != width:
                    malformed.append(
                        (
                            record_number,
                            f"malformed CSV record: expected {width} fields, found {len(record)}",
                            json.dumps({"_fields": record}),
                        )
                    )
                else:
                    row_numbers.append(record_number)
                    for i, v in enumerate(record):
                        values[i].append(v if v != "" else None)
    except (OSError, EOFError, zlib.error) as e:
        raise UnreadableFileError(_read_error(path, e)) from e
    finally:
        csv.field_size_limit(field_limit)
    if malformed and not row_numbers:
        raise UnreadableFileError(
            f"no record of the file parses as CSV ({len(malformed)} malformed, first: "
            f"{malformed[0][1]}); DuckDB said: {why}"
        )
    return _python_source(con, path, "csv", header, values, row_numbers, malformed)


# bytes that Windows-1252 maps to printable characters where ISO-8859-1 has control codes
_CP1252_ONLY = frozenset(range(0x80, 0xA0)) - {0x81, 0x8D, 0x8F, 0x90, 0x9D}


def guess_encoding(data: bytes) -> str:
    """What a byte string that is not UTF-8 looks like, for the quarantine reason: a hint for
    whoever fixes the export, not a decoder (the record is never loaded in a guessed encoding)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or data.count(b"\x00") * 4 > len(data):
        return "UTF-16"
    high = {b for b in data if b >= 0x80}
    if high and high <= _CP1252_ONLY | frozenset(range(0xA0, 0x100)):
        if high & _CP1252_ONLY:
            return "Windows-1252"
        return "Latin-1 (ISO-8859-1 or Windows-1252)"
    return "a legacy multi-byte encoding (e.g. Shift JIS, GBK)"


def not_utf8(what: str, data: bytes) -> str:
    return f"{what} is not valid UTF-8 (looks like {guess_encoding(data)})"


def _has_surrogates(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _replace_surrogates(value: str) -> str:
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


# --------------------------------------------------------------------------------------
# JSON lines


def _jsonl_source(con, path: Path) -> Source:
    """Every key of every object (one pass), then ``read_json`` of those keys as VARCHAR."""
    objects = (
        f"read_json_objects({path_literal(path)}, format = 'newline_delimited', "
        f"compression = '{_compression(path)}')"
    )
    try:
        keys = sorted(
            r[0]
            for r in con.execute(
                f"SELECT DISTINCT unnest(json_keys(json)) FROM {objects}"
            ).fetchall()
        )
        if not keys:
            if con.execute(f"SELECT count(*) FROM {objects}").fetchone()[0] == 0:
                return _empty(path, "jsonl")
            raise UnreadableFileError("no JSON object in the file has any key")
    except duckdb.IOException as e:
        raise UnreadableFileError(first_line(e)) from e
    except (duckdb.InvalidInputException, duckdb.ConversionException) as e:
        return _jsonl_records(con, path, first_line(e))
    if len({k.lower() for k in keys}) != len(keys):  # keys equal but for case
        return _jsonl_records(con, path, "keys that differ only in case")
    relation = (
        f"read_json({path_literal(path)}, format = 'newline_delimited', records = true, "
        f"columns = {_columns_struct(keys)}, compression = '{_compression(path)}')"
    )
    return Source(path, "jsonl", relation, [SourceColumn(k) for k in keys])


def _json_text(value) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _jsonl_records(con, path: Path, why: str) -> Source:
    """The slow path for JSON lines: one record per non-blank line, bad lines quarantined."""
    records: list[dict] = []
    row_numbers: list[int] = []
    malformed: list[tuple[int, str, str]] = []
    try:
        with _open_binary(path) as fh:
            record_number = 0
            for line_number, line in enumerate(fh):
                if line_number == 0:  # a byte-order mark is no part of the first record
                    line = line.removeprefix(b"\xef\xbb\xbf")
                if not line.strip():  # blank lines are no records (DuckDB skips them too)
                    continue
                record_number += 1
                try:
                    text = line.decode("utf-8").rstrip("\r\n")
                except UnicodeDecodeError:
                    shown = line.decode("utf-8", "replace").rstrip("\r\n")
                    malformed.append(
                        (record_number, not_utf8("line", line), json.dumps({"_line": shown}))
                    )
                    continue
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as e:
                    malformed.append(
                        (record_number, f"malformed JSON: {e}", json.dumps({"_line": text}))
                    )
                    continue
                if not isinstance(obj, dict):
                    malformed.append(
                        (record_number, "line is not a JSON object", json.dumps({"_line": text}))
                    )
                    continue
                records.append(obj)
                row_numbers.append(record_number)
    except (OSError, EOFError, zlib.error) as e:
        raise UnreadableFileError(_read_error(path, e)) from e
    if malformed and not row_numbers:
        raise UnreadableFileError(
            f"no line of the file is a JSON object ({len(malformed)} malformed, first: "
            f"{malformed[0][1]}); DuckDB said: {why}"
        )
    keys = sorted({k for obj in records for k in obj})
    index = {k: i for i, k in enumerate(keys)}
    values: list[list[str | None]] = [[None] * len(records) for _ in keys]
    for n, obj in enumerate(records):
        for k, v in obj.items():
            values[index[k]][n] = _json_text(v)
    return _python_source(con, path, "jsonl", keys, values, row_numbers, malformed)


# --------------------------------------------------------------------------------------
# Parquet


def _parquet_source(con, path: Path) -> Source:
    relation = f"read_parquet({path_literal(path)})"
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    except (*READ_ERRORS, duckdb.NotImplementedException, duckdb.BinderException) as e:
        raise UnreadableFileError(first_line(e)) from e
    columns = [SourceColumn(name, str(sql_type)) for name, sql_type, *_ in described]
    return Source(path, "parquet", relation, columns)


# --------------------------------------------------------------------------------------
# the slow path's staging


def _python_source(
    con,
    path: Path,
    fmt: str,
    names: list[str],
    values: list[list[str | None]],
    row_numbers: list[int],
    malformed: list[tuple[int, str, str]],
) -> Source:
    """Stage what the slow path parsed: through a temporary JSON-lines file DuckDB reads back.
    ``names`` are the columns as the file names them (staged under :func:`unique_names`)."""
    columns_of_file = source_columns(names)
    names = [c.name for c in columns_of_file]
    keys = [f"c{i}" for i in range(len(names))]
    good = (
        {"n": n, **dict(zip(keys, row, strict=True))}
        for n, *row in zip(row_numbers, *values, strict=True)
    )
    columns = ", ".join(f"{k} AS {_ident(name)}" for k, name in zip(keys, names, strict=True))
    _json_to_temp(
        con,
        STAGE,
        good,
        {"n": "BIGINT", **dict.fromkeys(keys, "VARCHAR")},
        f"{columns}, n AS {ROW_NUMBER_COLUMN}",
    )
    source = Source(
        path,
        fmt,
        STAGE,
        columns_of_file,
        row_number_expr=f"src.{ROW_NUMBER_COLUMN}",
        parser="python",
        malformed_rows=len(malformed),
    )
    if malformed:
        source.malformed_relation = f"{STAGE}_malformed"
        bad = ({"row_number": n, "reason": why, "record": record} for n, why, record in malformed)
        _json_to_temp(
            con,
            source.malformed_relation,
            bad,
            {"row_number": "BIGINT", "reason": "VARCHAR", "record": "VARCHAR"},
            "row_number, reason, record",
        )
    return source


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _json_to_temp(con, table: str, records, types: dict[str, str], select: str) -> None:
    """CREATE TEMP TABLE ``table`` from dicts, written to a scratch JSON-lines file and read back
    (fast for many rows, and no heavy import for a path only broken files take)."""
    fd, scratch = tempfile.mkstemp(prefix="loader-", suffix=".jsonl")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for record in records:
                fh.write(json.dumps(record, ensure_ascii=False))
                fh.write("\n")
        struct = (
            "{" + ", ".join(f"{sql_literal(k)}: {sql_literal(t)}" for k, t in types.items()) + "}"
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT {select} FROM read_json("
            f"{path_literal(scratch)}, format = 'newline_delimited', columns = {struct})"
        )
    finally:
        os.unlink(scratch)
