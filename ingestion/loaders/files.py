"""The file loader: landing files -> ``raw.<table>`` in the DuckDB warehouse.

Entry points: :func:`load_landing` (every table, or some) and :func:`load_table` (one table:
what a Dagster asset calls). Both are incremental and idempotent:

* Files are taken in path order. A file's identity is its content: every file is hashed
  (SHA-256) on every run, in a thread while DuckDB loads. The same path with the same content
  is skipped; a content already loaded for the table under another name is recorded as a
  duplicate and not loaded again; a path loaded before whose content changed (even at the same
  size) is loaded again with a warning, its earlier rows left to the version rule of staging
  (docs/landing_contract.md#keys-and-versions: the latest version wins, a conflict is reported).
* Before its files, each raw table is checked against ``raw._loaded_files``
  (docs/reliability.md#crash-safety): a table dropped or truncated by hand (fewer rows than
  recorded) gets the lost files loaded again from the landing folder, or the load fails naming the
  table when a lost file is no longer there (never an empty table reported as success); rows in raw
  that no record accounts for (``raw._loaded_files`` lost) get their record back from raw, so
  nothing loads twice.
* Each file is loaded in ONE transaction together with its quarantine rows and its
  ``raw._loaded_files`` row: a load killed at any point leaves either all of a file or none of
  it, and the next run picks up the rest. Nothing is lost, nothing is loaded twice.
* Bad rows go to ``raw._quarantine`` (see validation.py); the rest of the file loads. A file
  that lacks a required column entirely has all its rows quarantined with
  ``missing required column <name>`` (they stay replayable; the file is not moved).
* An unreadable file (see readers.py), or one without a single column of its table, is moved
  to ``<landing>/_rejected/<table>/`` (keeping its sub-path) with a ``rejected`` row in
  ``raw._loaded_files``, and a warning is logged; the other files load.
* Empty and header-only files load 0 rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import duckdb

from ingestion.contract import FILE_SUFFIXES, PROVENANCE_COLUMNS, TABLES, SourceTable
from warehouse import settings as warehouse_settings
from warehouse.connection import configure_session, open_warehouse
from warehouse.raw_schema import (
    LOADED_FILES,
    QUARANTINE,
    ensure_bookkeeping,
    ident,
    raw_table_name,
)

from .raw_schema import add_extra_columns, ensure_raw_table, extra_column_names
from .readers import (
    READ_ERRORS,
    Source,
    UnreadableFileError,
    drop_temp_tables,
    file_format,
    first_line,
    open_source,
    reparse,
)
from .report import DUPLICATE, LOADED, REJECTED, SKIPPED, FileResult, LoadReport, TableReport
from .settings import LoaderSettings
from .validation import DUCKDB, TimeBounds, ValidationQuery, build_validation, plan_columns

log = logging.getLogger("ingestion.loaders")

REJECTED_FOLDER = "_rejected"
CHECKED = "_loader_checked"  # temp table: the typed and checked rows of the file being loaded
# The checkpoints a file's load passes, in order: checked (read and checked, nothing written
# yet), inserted (its good rows are in raw.<table>, not its quarantine rows: inside the
# transaction), before_commit (all written, not committed), committed (before the next file);
# rejected (a rejection is recorded, the file not moved yet) instead of the last three.
LOAD_CHECKPOINTS = ("checked", "inserted", "before_commit", "committed", "rejected")


def at_checkpoint(point: str, source_file: str) -> None:
    """Called as a file's load passes each of LOAD_CHECKPOINTS; does nothing.

    The crash-safety tests replace it (tests/python/pausing_loader.py) to stop a load at a
    known point and kill it there."""


class RawTableDamagedError(RuntimeError):
    """A raw table lost rows that its landing files can no longer give back."""


def new_load_id() -> str:
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def file_sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


# Uploads still being written (write `*.tmp`, then rename): skipped without a word.
IN_PROGRESS_SUFFIXES = (".tmp", ".part", ".partial")


def _table_folder_files(landing_dir: Path, table: str) -> list[Path]:
    """Every file of a table's folder, in path order; folders and files starting with ``_`` or
    ``.`` are not the loader's."""
    root = Path(landing_dir) / table
    if not root.is_dir():
        return []
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(("_", ".")))
        found.extend(Path(dirpath) / name for name in filenames if not name.startswith(("_", ".")))
    return sorted(found, key=lambda p: _relative(p, root))


def discover_files(landing_dir: Path, table: str) -> list[Path]:
    """Landing files of a table, in path order; files of other formats are left out (and
    reported by :func:`unsupported_files`)."""
    return [p for p in _table_folder_files(landing_dir, table) if file_format(p) is not None]


def unsupported_files(landing_dir: Path, tables: Iterable[str]) -> list[dict[str, str]]:
    """Files the loader will not load, each with why (docs/landing_contract.md#folders-and-files:
    reported, and an error under ``--strict``): a file at the landing root, or in a table's folder a
    file of another type (``.json``, ``.tsv``, ``.csv.zip``...). Uploads in progress (``*.tmp``) are
    not."""
    landing = Path(landing_dir)
    found = [
        {"path": p.name, "reason": "a file at the landing root, not in a table folder"}
        for p in sorted(landing.iterdir())
        if p.is_file() and not p.name.startswith(("_", "."))
    ]
    supported = ", ".join(FILE_SUFFIXES)
    for table in tables:
        for path in _table_folder_files(landing, table):
            if file_format(path) is None and not path.name.lower().endswith(IN_PROGRESS_SUFFIXES):
                found.append(
                    {
                        "path": _relative(path, landing),
                        "reason": f"not a landing file type (supported: {supported})",
                    }
                )
    return found


# --------------------------------------------------------------------------------------
# one file


class _FileLoad:
    """Loads the files of one table through one connection."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        landing_dir: Path,
        table: SourceTable,
        load_id: str,
        check_raw: bool = True,
    ):
        self.con = con
        self.check_raw = check_raw
        self.landing = Path(landing_dir)
        self.table = table
        self.load_id = load_id
        self.report = TableReport(table.name, load_id)
        self._known_paths: dict[str, list[tuple[str, int, str]]] = {}
        self._loaded_content: dict[str, str] = {}  # sha256 -> first source_file loaded with it
        self._file_started = time.perf_counter()  # reset as each file starts: load_seconds
        # event times later than a day after this load are implausible
        # (docs/landing_contract.md#event-time-range)
        self.time_bounds = TimeBounds.from_env()
        self._changed = False  # the file being loaded is a path loaded before, changed since
        rows = con.execute(
            f"SELECT source_file, file_sha256, file_bytes, status FROM {LOADED_FILES} "
            "WHERE table_name = ? ORDER BY loaded_at, source_file",
            [table.name],
        ).fetchall()
        for source_file, sha, size, status in rows:
            self._known_paths.setdefault(source_file, []).append((sha, size, status))
            if status == "loaded":
                self._loaded_content.setdefault(sha, source_file)

    # -- bookkeeping -------------------------------------------------------------------

    def _record(self, result: FileResult, loaded_at: dt.datetime) -> None:
        self.con.execute(
            f"INSERT INTO {LOADED_FILES} (load_id, table_name, source_file, file_sha256, "
            "file_bytes, rows_loaded, rows_quarantined, status, message, loaded_at, load_seconds) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                self.load_id,
                self.table.name,
                result.source_file,
                result.file_sha256,
                result.file_bytes,
                result.rows_loaded,
                result.rows_quarantined,
                "rejected" if result.status == REJECTED else "loaded",
                result.message,
                loaded_at,
                # read, check and insert so far: the commit that follows is not counted
                time.perf_counter() - self._file_started,
            ],
        )

    def _record_alone(self, result: FileResult) -> None:
        self.con.begin()
        try:
            self._record(result, _utc_now())
            self.con.commit()
        except BaseException:
            self.con.rollback()
            raise

    # -- files -------------------------------------------------------------------------

    def run(self) -> TableReport:
        ensure_raw_table(self.con, self.table)
        files = [
            (path, _relative(path, self.landing), path.stat().st_size)
            for path in discover_files(self.landing, self.table.name)
        ]
        # hash the next files in a thread (hashlib lets go of the GIL) while DuckDB loads: a
        # file is known by its content, never by its name or size (an edit in place keeps both)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256") as hasher:
            digests = [hasher.submit(file_sha256, path) for path, _, _ in files]
            present = {
                rel: (path, digest) for (path, rel, _), digest in zip(files, digests, strict=True)
            }
            if self.check_raw:
                self._check_raw_table(present)
            for (path, rel, size), digest in zip(files, digests, strict=True):
                sha = digest.result()
                known = self._known_paths.get(rel, [])
                if any(status == "loaded" and known_sha == sha for known_sha, _, status in known):
                    self.report.files.append(
                        FileResult(
                            self.table.name,
                            rel,
                            SKIPPED,
                            message="already loaded",
                            file_sha256=sha,
                            file_bytes=size,
                        )
                    )
                    continue
                started = self._file_started = time.perf_counter()
                result = self._one(path, rel, size, sha)
                result.seconds = time.perf_counter() - started
                self.report.files.append(result)
        return self.report

    # -- damaged raw tables --------------------------------------------------------------

    def _check_raw_table(self, present: dict) -> None:
        """Hold raw.<table> to raw._loaded_files (docs/reliability.md); see the module docstring.

        One count(*) when all is well; the per-file comparison runs only on a mismatch."""
        con, name, raw = self.con, self.table.name, raw_table_name(self.table)
        recorded_total = con.execute(
            f"SELECT coalesce(sum(rows_loaded), 0) FROM {LOADED_FILES} "
            "WHERE table_name = ? AND status = 'loaded'",
            [name],
        ).fetchone()[0]
        if con.execute(f"SELECT count(*) FROM {raw}").fetchone()[0] == recorded_total:
            return
        rows = con.execute(
            f"""
            WITH recorded AS (
                SELECT source_file, sum(rows_loaded) AS recorded_rows,
                    list(file_sha256 ORDER BY loaded_at) AS shas,
                    list(load_id ORDER BY loaded_at) AS load_ids
                FROM {LOADED_FILES}
                WHERE table_name = ? AND status = 'loaded'
                GROUP BY source_file
            ),
            actual AS (
                SELECT _source_file AS source_file, count(*) AS raw_rows FROM {raw} GROUP BY 1
            )
            SELECT coalesce(r.source_file, a.source_file), coalesce(r.recorded_rows, 0),
                coalesce(a.raw_rows, 0), r.shas, r.load_ids
            FROM recorded AS r FULL OUTER JOIN actual AS a ON r.source_file = a.source_file
            WHERE coalesce(r.recorded_rows, 0) <> coalesce(a.raw_rows, 0)
            ORDER BY 1
            """,
            [name],
        ).fetchall()
        lost = [r for r in rows if r[2] < r[1]]
        # rows of no landing file (raw.external_prices also holds the HTTP loader's rows, its
        # _source_file a URL) need no record: only a file still here could be loaded twice
        unrecorded = [r for r in rows if r[1] == 0 and r[2] > 0 and r[0] in present]
        if lost:
            self._reload_lost(lost, present)
        if unrecorded:
            self._recover_records(unrecorded, present)
        for rel, recorded, actual, _, _ in rows:
            if 0 < recorded < actual:
                log.warning(
                    "raw.%s holds %d rows of %s, its records in %s say %d",
                    name,
                    actual,
                    rel,
                    LOADED_FILES,
                    recorded,
                )

    def _reload_lost(self, lost: list[tuple], present: dict) -> None:
        """Files whose rows are gone from raw (table dropped or truncated): forget their
        records, rows and quarantine rows, so they load again below; or fail, naming the table,
        when a lost content is no longer in the landing folder."""
        name = self.table.name
        missing = []
        for rel, _, _, shas, _ in lost:
            current = present.get(rel)
            if current is None or current[1].result() not in shas or len(set(shas)) > 1:
                missing.append(rel)  # that content cannot be read again from the landing folder
        if missing:
            shown = ", ".join(missing[:5]) + (
                f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            )
            raise RawTableDamagedError(
                f"raw.{name} has lost rows that were loaded (the table was dropped or truncated "
                f"by hand?), and the landing files they came from are gone or changed: {shown}. "
                "Restore those files (or rebuild the warehouse from a full landing folder); "
                f"nothing was loaded into raw.{name}."
            )
        lost_rows = sum(recorded - actual for _, recorded, actual, _, _ in lost)
        message = (
            f"raw.{name} had lost {lost_rows} loaded rows of {len(lost)} files (dropped or "
            "truncated by hand?): loading those files again from the landing folder"
        )
        log.warning(message)
        self.report.repairs.append(message)
        self.con.begin()
        try:
            for rel, _, _, _, load_ids in lost:
                self.con.execute(
                    f"DELETE FROM {raw_table_name(self.table)} WHERE _source_file = ?", [rel]
                )
                self.con.execute(
                    f"DELETE FROM {QUARANTINE} WHERE table_name = ? AND source_file = ? "
                    "AND list_contains(?, load_id)",
                    [name, rel, load_ids],
                )
                self.con.execute(
                    f"DELETE FROM {LOADED_FILES} WHERE table_name = ? AND source_file = ? "
                    "AND status = 'loaded'",
                    [name, rel],
                )
            self.con.commit()
        except BaseException:
            self.con.rollback()
            raise
        for rel, *_ in lost:
            self._known_paths[rel] = [k for k in self._known_paths.get(rel, []) if k[2] != "loaded"]
        self._loaded_content = {
            sha: rel for sha, rel in self._loaded_content.items() if rel not in {r[0] for r in lost}
        }

    def _recover_records(self, unrecorded: list[tuple], present: dict) -> None:
        """Rows in raw that no record accounts for (raw._loaded_files lost or emptied): their
        files get a record again, from raw, so they are not loaded a second time."""
        name = self.table.name
        message = (
            f"raw.{name} holds rows of {len(unrecorded)} files that {LOADED_FILES} does not "
            "record (the bookkeeping was lost?): their records are rebuilt from raw, nothing "
            "is loaded twice"
        )
        log.warning(message)
        self.report.repairs.append(message)
        now = _utc_now()
        self.con.begin()
        try:
            for rel, _, actual, _, _ in unrecorded:
                current = present[rel]
                sha = current[1].result()
                quarantined = self.con.execute(
                    f"SELECT count(*) FROM {QUARANTINE} WHERE table_name = ? AND source_file = ?",
                    [name, rel],
                ).fetchone()[0]
                load_id = self.con.execute(
                    f"SELECT min(_load_id) FROM {raw_table_name(self.table)} "
                    "WHERE _source_file = ?",
                    [rel],
                ).fetchone()[0]
                size = current[0].stat().st_size
                self.con.execute(
                    f"INSERT INTO {LOADED_FILES} (load_id, table_name, source_file, file_sha256, "
                    "file_bytes, rows_loaded, rows_quarantined, status, message, loaded_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, 'loaded', ?, ?)",
                    [
                        load_id or self.load_id,
                        name,
                        rel,
                        sha,
                        size,
                        actual,
                        quarantined,
                        f"record rebuilt from raw.{name}: the file's rows were already there",
                        now,
                    ],
                )
                self._known_paths.setdefault(rel, []).append((sha, size, "loaded"))
                self._loaded_content.setdefault(sha, rel)
            self.con.commit()
        except BaseException:
            self.con.rollback()
            raise

    def _one(self, path: Path, rel: str, size: int, sha: str) -> FileResult:
        known = self._known_paths.get(rel, [])
        result = FileResult(self.table.name, rel, LOADED, file_sha256=sha, file_bytes=size)
        if any(status == "rejected" and known_sha == sha for known_sha, _, status in known):
            # a run was stopped between recording the rejection and moving the file
            destination, error = self._move_aside(path)
            result.status = REJECTED
            result.message = f"rejected earlier; {_moved(destination, error)}"
            return result
        if size == 0:
            result.message = "empty file"
            self._record_alone(result)
            self._remember(rel, result)
            return result
        changed = any(status == "loaded" and known_sha != sha for known_sha, _, status in known)
        if changed:
            log.warning(
                "%s changed after it was loaded (landing files must never change): "
                "loading its new content as well; staging keeps the latest version of each key",
                rel,
            )
            self.report.changed_files.append(rel)
        self._changed = changed
        if sha in self._loaded_content:
            result.status = DUPLICATE
            result.message = (
                f"same content as {self._loaded_content[sha]}, already loaded: not loaded again"
            )
            self._record_alone(result)
            self._remember(rel, result)
            log.info("%s: %s", rel, result.message)
            return result
        try:
            source = open_source(self.con, path)
            if not source.columns:  # nothing in the file, not even a header
                result.message = "empty file"
                self._record_alone(result)
                self._remember(rel, result)
                return result
            source, query = self._check(source)
            if query is None:
                names = ", ".join(c.name for c in source.columns[:8])
                more = ", ..." if len(source.columns) > 8 else ""
                raise UnreadableFileError(
                    f"no column of table {self.table.name} in the file (its columns: {names}{more})"
                )
            return self._insert(source, query, result)
        except UnreadableFileError as e:
            return self._reject(path, result, str(e))
        finally:
            drop_temp_tables(self.con)
            self.con.execute(f"DROP TABLE IF EXISTS {CHECKED}")

    def _remember(self, rel: str, result: FileResult) -> None:
        status = "rejected" if result.status == REJECTED else "loaded"
        self._known_paths.setdefault(rel, []).append(
            (result.file_sha256, result.file_bytes, status)
        )
        if status == "loaded":
            self._loaded_content.setdefault(result.file_sha256, rel)

    def _check(self, source: Source) -> tuple[Source, ValidationQuery | None]:
        """Type and check every row of the file into the temp table CHECKED, in file order.

        A read error here is the file's: a CSV or JSON-lines file is parsed again record by
        record (its malformed records quarantined); any other file is unreadable.
        """
        for attempt in (1, 2):
            plan = plan_columns(self.table, source.columns)
            if not plan.matches_contract:
                return source, None
            extra_names = extra_column_names(self.table, [c.name for c in plan.extras])
            query = build_validation(
                plan, source.relation, source.row_number_expr, DUCKDB, extra_names, self.time_bounds
            )
            try:
                self.con.execute(f"CREATE OR REPLACE TEMP TABLE {CHECKED} AS\n{query.sql}")
                return source, query
            except READ_ERRORS as e:
                if attempt == 2 or not source.can_reparse or isinstance(e, duckdb.IOException):
                    raise UnreadableFileError(first_line(e)) from e
                log.info(
                    "%s: DuckDB's reader refused it (%s); parsing record by record",
                    source.path,
                    first_line(e),
                )
                source = reparse(self.con, source, first_line(e))
        raise AssertionError("unreachable")

    def _insert(self, source: Source, query: ValidationQuery, result: FileResult) -> FileResult:
        con, table = self.con, self.table
        rel = result.source_file
        plan = query.plan
        row_number = "checked._row_number" if source.row_number_expr else "checked.rowid + 1"
        total, bad = con.execute(f"SELECT count(*), count(_reason) FROM {CHECKED}").fetchone()
        loaded_at = _utc_now()
        target_columns = [*query.raw_columns, *query.extra_columns]
        insert_columns = ", ".join(ident(c) for c in [*target_columns, *PROVENANCE_COLUMNS])
        select_columns = ", ".join(f"checked.{ident(c)}" for c in target_columns)
        quarantine_columns = (
            f"INSERT INTO {QUARANTINE} (table_name, source_file, row_number, reason, record, "
            "load_id, quarantined_at)\n"
        )
        at_checkpoint("checked", rel)
        con.begin()
        try:
            added = add_extra_columns(con, table, list(query.extra_columns))
            result.rows_loaded = con.execute(
                f"INSERT INTO {raw_table_name(table)} ({insert_columns})\n"
                f"SELECT {select_columns}, ?, ?, {row_number}, ?\n"
                f"FROM {CHECKED} AS checked WHERE checked._reason IS NULL",
                [self.load_id, rel, loaded_at],
            ).fetchone()[0]
            at_checkpoint("inserted", rel)
            quarantined = 0
            if bad:
                quarantined += con.execute(
                    f"{quarantine_columns}SELECT ?, ?, {row_number}, checked._reason, "
                    f"checked._record, ?, ?\nFROM {CHECKED} AS checked "
                    "WHERE checked._reason IS NOT NULL",
                    [table.name, rel, self.load_id, loaded_at],
                ).fetchone()[0]
            if source.malformed_relation:
                quarantined += con.execute(
                    f"{quarantine_columns}SELECT ?, ?, row_number, reason, record, ?, ? "
                    f"FROM {source.malformed_relation}",
                    [table.name, rel, self.load_id, loaded_at],
                ).fetchone()[0]
            if result.rows_loaded + quarantined != total + source.malformed_rows:
                raise RuntimeError(
                    f"{rel}: {total + source.malformed_rows} records read but "
                    f"{result.rows_loaded} loaded and {quarantined} quarantined"
                )
            result.rows_quarantined = quarantined
            notes = [f"{result.rows_loaded} rows loaded, {quarantined} quarantined"]
            if self._changed:
                notes.insert(0, "content changed since it was loaded: loaded again")
            if plan.missing_required:
                notes.append("missing required column " + ", ".join(plan.missing_required))
            for column, names in plan.case_clashes.items():
                notes.append(
                    f"keys that differ only in case for {column}: {', '.join(names)} "
                    f"({names[0]} loaded, the others kept as extra columns)"
                )
            if query.extra_columns:
                notes.append("extra columns kept: " + ", ".join(query.extra_columns))
            if source.parser != "duckdb":
                notes.append("malformed records: file parsed record by record")
            result.message = "; ".join(notes)
            self._record(result, loaded_at)
            at_checkpoint("before_commit", rel)
            con.commit()
        except BaseException:
            con.rollback()
            raise
        at_checkpoint("committed", rel)
        self.report.columns_added.extend(added)
        self._remember(rel, result)
        level = logging.WARNING if result.rows_quarantined or plan.case_clashes else logging.INFO
        log.log(level, "%s: %s", rel, result.message)
        return result

    def _reject(self, path: Path, result: FileResult, reason: str) -> FileResult:
        destination = self._destination(path)
        result.status = REJECTED
        result.rows_loaded = result.rows_quarantined = 0
        result.message = f"unreadable file: {reason}; moved to {destination}"
        self._record_alone(result)  # first the record, then the move (a re-run finishes it)
        self._remember(result.source_file, result)
        at_checkpoint("rejected", result.source_file)
        _, error = self._move_aside(path, destination)
        if error:
            result.message = f"unreadable file: {reason}; {_moved(destination, error)}"
        log.warning("%s rejected: %s", result.source_file, result.message)
        return result

    def _destination(self, path: Path) -> str:
        sub = path.relative_to(self.landing / self.table.name)
        destination = self.landing / REJECTED_FOLDER / self.table.name / sub
        n = 1
        while destination.exists():
            destination = destination.with_name(f"{sub.name}.{n}")
            n += 1
        return _relative(destination, self.landing)

    def _move_aside(self, path: Path, destination: str | None = None) -> tuple[str, str | None]:
        """Move a rejected file aside: (destination, None), or (destination, the error) when the
        move failed (disk full, no permission...): the file then stays where it is, its
        rejection recorded, and the next run moves it."""
        destination = destination or self._destination(path)
        target = self.landing / destination
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
        except OSError as e:
            log.error(
                "could not move rejected file %s to %s: %s (it stays in the landing folder, "
                "not loaded; the next run retries the move)",
                path,
                target,
                e,
            )
            return destination, f"{type(e).__name__}: {e}"
        return destination, None


def _moved(destination: str, error: str | None) -> str:
    if error is None:
        return f"moved to {destination}"
    return (
        f"NOT moved to {destination} ({error}): left in the landing folder, not loaded; "
        "the next run retries the move"
    )


# --------------------------------------------------------------------------------------
# entry points


def _checkpoint(con: duckdb.DuckDBPyConnection) -> None:
    """Fold the write-ahead log into the file; skipped while another transaction is open."""
    try:
        con.execute("CHECKPOINT")
    except duckdb.TransactionException as e:
        log.debug("no checkpoint after the load: %s", first_line(e))


def _table(name: str) -> SourceTable:
    try:
        return TABLES[name]
    except KeyError:
        raise ValueError(
            f"unknown table {name!r}; the landing contract has: {', '.join(TABLES)}"
        ) from None


def resolve_tables(tables: str | Iterable[str] | None) -> list[str]:
    """Table names from a list or a comma-separated string; None means every contract table."""
    if tables is None:
        return list(TABLES)
    if isinstance(tables, str):
        tables = tables.split(",")
    names = [t.strip() for t in tables if t and t.strip()]
    for name in names:
        _table(name)
    return list(dict.fromkeys(names))


def load_table(
    warehouse: duckdb.DuckDBPyConnection | str | os.PathLike,
    landing_dir: str | os.PathLike,
    table: str,
    *,
    load_id: str | None = None,
    settings: LoaderSettings | None = None,
    check_raw: bool = True,
) -> TableReport:
    """Load the new files of one table; returns rows loaded and quarantined, files skipped...

    ``warehouse`` is a path (the warehouse is then locked, opened, and closed again) or an open
    DuckDB connection (the caller then owns it, and holds the lock if others may write).
    ``check_raw=False`` skips holding raw.<table> to raw._loaded_files: for a scratch session
    whose bookkeeping describes another warehouse's raw tables (the BigQuery loader).
    """
    spec = _table(table)
    load_id = load_id or new_load_id()
    if isinstance(warehouse, duckdb.DuckDBPyConnection):
        configure_session(warehouse)
        ensure_bookkeeping(warehouse)
        return _FileLoad(warehouse, Path(landing_dir), spec, load_id, check_raw).run()
    with open_warehouse(warehouse, limits=settings or LoaderSettings.from_env()) as con:
        ensure_bookkeeping(con)
        report = _FileLoad(con, Path(landing_dir), spec, load_id, check_raw).run()
        _checkpoint(con)
        return report


def load_landing(
    landing_dir: str | os.PathLike | None = None,
    warehouse_path: str | os.PathLike | None = None,
    tables: str | Iterable[str] | None = None,
    *,
    load_id: str | None = None,
    settings: LoaderSettings | None = None,
) -> LoadReport:
    """Load every new landing file of the given tables (default: all contract tables).

    Defaults: ``$EXCHANGE_LANDING_DIR`` or ``data/landing``, ``$EXCHANGE_WAREHOUSE`` or
    ``data/warehouse.duckdb``. Every raw table asked for is created, even without files.
    """
    started = time.perf_counter()
    current = warehouse_settings.current()
    landing = Path(landing_dir) if landing_dir is not None else current.landing_dir
    warehouse = Path(warehouse_path) if warehouse_path is not None else current.warehouse
    if not landing.is_dir():
        raise FileNotFoundError(f"landing directory {landing} does not exist")
    names = resolve_tables(tables)
    report = LoadReport(load_id or new_load_id(), str(landing), str(warehouse))
    report.unknown_folders = sorted(
        p.name
        for p in landing.iterdir()
        if p.is_dir() and not p.name.startswith(("_", ".")) and p.name not in TABLES
    )
    for folder in report.unknown_folders:
        log.warning("ignoring folder %s: not a table of the landing contract", landing / folder)
    report.unsupported_files = unsupported_files(landing, names)
    for ignored in report.unsupported_files:
        log.warning("ignoring %s: %s", landing / ignored["path"], ignored["reason"])
    settings = settings or LoaderSettings.from_env()
    with open_warehouse(warehouse, limits=settings) as con:
        ensure_bookkeeping(con)
        for name in names:  # catalog changes one at a time, before any worker starts
            ensure_raw_table(con, TABLES[name])
        workers = min(settings.workers, len(names))
        if workers <= 1:
            for name in names:
                report.tables[name] = _FileLoad(con, landing, TABLES[name], report.load_id).run()
        else:
            tables = _load_tables_in_parallel(con, landing, names, report.load_id, workers)
            report.tables.update((name, tables[name]) for name in names)
        _checkpoint(con)
    report.seconds = time.perf_counter() - started
    return report


def _load_tables_in_parallel(
    con: duckdb.DuckDBPyConnection, landing: Path, names: list[str], load_id: str, workers: int
) -> dict[str, TableReport]:
    """Several tables at once, each table's files in order through its own connection (a
    cursor: own transactions and temp tables), biggest tables first so the workers finish
    together. Each file is still one transaction: the guarantees of a serial load hold.
    DuckDB releases the GIL while it reads, checks and inserts."""

    def landing_bytes(name: str) -> int:
        return sum(p.stat().st_size for p in discover_files(landing, name))

    def load_one(name: str) -> TableReport:
        with con.cursor() as cursor:
            configure_session(cursor)
            return _FileLoad(cursor, landing, TABLES[name], load_id).run()

    order = sorted(names, key=landing_bytes, reverse=True)
    reports: dict[str, TableReport] = {}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="load") as pool:
        futures = {pool.submit(load_one, name): name for name in order}
        failure: BaseException | None = None
        for future in as_completed(futures):
            try:
                reports[futures[future]] = future.result()
            except BaseException as e:  # let the running tables finish their file, start no more
                if failure is None:
                    failure = e
                    for other in futures:
                        other.cancel()
        if failure is not None:
            raise failure
    return reports
