"""Opening the warehouse for a load: lock, connect, session settings, bookkeeping tables."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from .locking import WarehouseLock, connect_duckdb
from .raw_schema import ensure_bookkeeping

DEFAULT_MEMORY_LIMIT = "3GB"  # the whole load process stays under 4 GiB
DEFAULT_LOCK_TIMEOUT = 300.0
# One file of each of two tables at once keeps both cores busy: one file alone does not.
DEFAULT_WORKERS = 2


@dataclass(frozen=True)
class LoaderSettings:
    """Resource settings of a load; each defaults from the environment.

    ``memory_limit`` bounds DuckDB's memory (larger loads spill to ``temp_directory``, by
    default ``<warehouse>.tmp``); ``lock_timeout`` is how long a load waits for another one.
    """

    memory_limit: str = DEFAULT_MEMORY_LIMIT
    temp_directory: str | None = None
    threads: int | None = None
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    # tables loaded at once (each through its own connection); 1 = one table after another
    workers: int = DEFAULT_WORKERS

    @classmethod
    def from_env(cls, **overrides) -> LoaderSettings:
        env = os.environ
        values = {
            "memory_limit": env.get("EXCHANGE_DUCKDB_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT),
            "temp_directory": env.get("EXCHANGE_DUCKDB_TEMP_DIR") or None,
            "threads": int(env["EXCHANGE_DUCKDB_THREADS"])
            if env.get("EXCHANGE_DUCKDB_THREADS")
            else None,
            "lock_timeout": float(env.get("EXCHANGE_LOADER_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT)),
            "workers": int(env.get("EXCHANGE_LOADER_WORKERS", DEFAULT_WORKERS)),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def configure_session(con: duckdb.DuckDBPyConnection) -> None:
    """What every load needs, whoever opened the connection.

    UTC session time zone (timestamps with an offset are converted to UTC, those without are
    taken as UTC) and insertion order kept (row numbers come from it, see readers.py).
    """
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar = false")


def configure_resources(
    con: duckdb.DuckDBPyConnection, warehouse: Path, settings: LoaderSettings
) -> None:
    temp_directory = settings.temp_directory or f"{warehouse}.tmp"
    con.execute(f"SET memory_limit = '{settings.memory_limit}'")
    con.execute("SET temp_directory = ?", [str(temp_directory)])
    if settings.threads:
        con.execute(f"SET threads = {int(settings.threads)}")


@contextlib.contextmanager
def open_warehouse(
    warehouse: Path | str, settings: LoaderSettings | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Lock the warehouse, open it for writing and prepare it for a load; closes and unlocks."""
    settings = settings or LoaderSettings.from_env()
    warehouse = Path(warehouse)
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with WarehouseLock(warehouse, settings.lock_timeout):
        remaining = max(0.0, settings.lock_timeout - (time.monotonic() - started))
        con = connect_duckdb(warehouse, remaining)
        try:
            configure_resources(con, warehouse, settings)
            configure_session(con)
            ensure_bookkeeping(con)
            yield con
        finally:
            con.close()
