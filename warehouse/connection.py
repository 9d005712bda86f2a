"""Opening the warehouse: the one place that calls ``duckdb.connect``.

:func:`open_warehouse` is how every program (loaders, dbt's neighbours in Dagster, the
dashboard, the predictive jobs, casework, benchmarks, the PostgreSQL and price tools) opens the
DuckDB file:

* a writer first takes the warehouse's lock file (``locking.py``), waiting up to
  ``lock_timeout`` seconds for another writer, then opens the file, waiting out the remaining
  time if another program (dbt, a notebook) holds DuckDB's own lock;
* a reader opens the file read-only without the lock (DuckDB lets readers in only while no
  process writes: it fails at once with :class:`WarehouseLockedError`), and never creates it
  (:class:`WarehouseMissingError`);
* every session runs in UTC, keeps insertion order (the loaders' row numbers come from it),
  prints no progress bar, and stays within the memory limit, temp directory and threads of
  :class:`Limits` (``EXCHANGE_DUCKDB_*``, see ``settings.py``).

:func:`open_scratch` is the same session in memory or in a scratch file nobody else shares
(staging a BigQuery load, typing rows for PostgreSQL, measuring a floor).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from . import settings as settings_module
from .locking import POLL_SECONDS, WarehouseLock, WarehouseLockedError

DEFAULT_LOCK_TIMEOUT = 300.0


class WarehouseMissingError(FileNotFoundError):
    """A reader asked for a warehouse file that does not exist."""


@dataclass(frozen=True)
class Limits:
    """Resources of one DuckDB session, and how long a writer waits for the lock.

    ``memory_limit`` bounds DuckDB's memory (larger work spills to ``temp_directory``, by
    default ``<warehouse>.tmp``); ``threads`` None keeps DuckDB's default (one per core).
    """

    memory_limit: str = "3GB"
    temp_directory: str | None = None
    threads: int | None = None
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT

    @classmethod
    def from_env(cls, **overrides):
        """The limits ``EXCHANGE_DUCKDB_*`` and ``EXCHANGE_LOADER_LOCK_TIMEOUT`` state, with
        ``overrides`` (command-line options; None ignored) on top."""
        current = settings_module.current()
        values = {
            "memory_limit": current.duckdb_memory_limit,
            "temp_directory": current.duckdb_temp_dir,
            "threads": current.duckdb_threads,
        }
        if current.lock_timeout is not None:
            values["lock_timeout"] = current.lock_timeout
        values.update(cls._from_settings(current))
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @classmethod
    def _from_settings(cls, current: settings_module.Settings) -> dict:
        """Fields a subclass adds, from the settings (none here)."""
        return {}


def configure_session(con: duckdb.DuckDBPyConnection) -> None:
    """What every session needs, whoever opened the connection (a cursor too).

    UTC session time zone (timestamps with an offset are converted to UTC, those without are
    taken as UTC) and insertion order kept (the loaders' row numbers come from it).
    """
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar = false")


def configure_resources(
    con: duckdb.DuckDBPyConnection, limits: Limits, temp_directory: str | Path | None
) -> None:
    con.execute("SET memory_limit = ?", [limits.memory_limit])
    temp = limits.temp_directory or temp_directory
    if temp:
        con.execute("SET temp_directory = ?", [str(temp)])
    if limits.threads:
        con.execute(f"SET threads = {int(limits.threads)}")


def _connect(path: Path, read_only: bool, timeout: float) -> duckdb.DuckDBPyConnection:
    """Open the file; wait up to ``timeout`` s for another process to let go of DuckDB's lock."""
    deadline = time.monotonic() + max(0.0, float(timeout))
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as e:
            if "lock" not in str(e).lower():
                raise
            if time.monotonic() >= deadline:
                detail = str(e).splitlines()[0]
                if read_only:
                    raise WarehouseLockedError(
                        f"warehouse {path} is open in another process that is writing it, and "
                        f"DuckDB lets no reader in meanwhile: {detail}. Run again when it has "
                        "finished."
                    ) from None
                raise WarehouseLockedError(
                    f"warehouse {path} is open in another process, and DuckDB allows one "
                    f"writer per file: {detail}. Gave up after waiting {timeout:g}s; stop that "
                    f"process (dbt, Dagster, a notebook) or run the load when it has finished."
                ) from None
            time.sleep(POLL_SECONDS)


@contextlib.contextmanager
def open_warehouse(
    path: Path | str | None = None,
    *,
    read_only: bool = False,
    limits: Limits | None = None,
    lock: bool | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse (default ``$EXCHANGE_WAREHOUSE``), configured; closed (and unlocked) on exit.

    ``lock`` defaults to ``not read_only``: writers hold the lock file; a reader that must not
    overlap a writer in this process (Dagster's checks) passes ``lock=True``.
    """
    path = Path(path) if path is not None else settings_module.current().warehouse
    limits = limits or Limits.from_env()
    lock = (not read_only) if lock is None else lock
    if read_only and not path.exists():
        raise WarehouseMissingError(f"no warehouse at {path}: run `make pipeline` first")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        started = time.monotonic()
        if lock:
            stack.enter_context(WarehouseLock(path, limits.lock_timeout))
            remaining = max(0.0, limits.lock_timeout - (time.monotonic() - started))
        else:
            remaining = 0.0
        con = _connect(path, read_only, remaining)
        stack.callback(con.close)
        configure_resources(con, limits, f"{path}.tmp")
        configure_session(con)
        yield con


@contextlib.contextmanager
def open_scratch(
    path: Path | str | None = None, *, limits: Limits | None = None, read_only: bool = False
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB session of this process alone: in memory, or a scratch file (no lock)."""
    limits = limits or Limits.from_env()
    con = duckdb.connect(":memory:" if path is None else str(path), read_only=read_only)
    try:
        configure_resources(con, limits, None if path is None else f"{path}.tmp")
        configure_session(con)
        yield con
    finally:
        con.close()
