"""One writer at a time per warehouse: a lock file, and a clear error when DuckDB's own lock bites.

DuckDB lets one process write a database file and refuses a second with
``Could not set lock on file``. That protects the file but says nothing useful, and two loads
in one process (two threads, or Dagster running assets in-process) share the database and
would interleave. So every load first takes an exclusive ``flock`` on ``<warehouse>.lock``:

* a second load waits for it, up to ``timeout`` seconds (0: do not wait), then stops with
  :class:`WarehouseLockedError` naming the holder (pid, host, command, since when);
* the lock belongs to the open file, so the kernel drops it when the holder dies, even by
  SIGKILL: there is never a stale lock to clean up (the file itself stays; it is harmless);
* another program holding the DuckDB file (dbt, a notebook) is waited for the same way, and
  reported with DuckDB's message, which names the other process.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import sys
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: rely on DuckDB's own lock only
    fcntl = None  # type: ignore[assignment]

POLL_SECONDS = 0.2


class WarehouseLockedError(RuntimeError):
    """Another load (or another program) holds the warehouse."""


def lock_path_for(warehouse: Path) -> Path:
    return Path(str(warehouse) + ".lock")


class WarehouseLock:
    """Exclusive lock on ``<warehouse>.lock``; use as a context manager."""

    def __init__(self, warehouse: Path | str, timeout: float = 60.0):
        self.warehouse = Path(warehouse)
        self.path = lock_path_for(self.warehouse)
        self.timeout = max(0.0, float(timeout))
        self._fh = None

    def acquire(self) -> None:
        if fcntl is None:  # pragma: no cover
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")  # noqa: SIM115 - held for the lifetime of the lock
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _read_holder(self.path)
                    fh.close()
                    raise WarehouseLockedError(
                        f"warehouse {self.warehouse} is locked by another load ({holder}); "
                        f"gave up after waiting {self.timeout:g}s. Run again when it has finished "
                        f"(or wait longer with --lock-timeout / EXCHANGE_LOADER_LOCK_TIMEOUT)."
                    ) from None
                time.sleep(POLL_SECONDS)
        fh.seek(0)
        fh.truncate()
        fh.write(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "since": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "command": " ".join(sys.argv)[:200],
                }
            )
        )
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is None:
            return
        with contextlib.suppress(OSError):
            self._fh.seek(0)
            self._fh.truncate()
            self._fh.flush()
        with contextlib.suppress(OSError):
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
        self._fh.close()
        self._fh = None

    def __enter__(self) -> WarehouseLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _read_holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return f"lock file {path}"
    return (
        f"pid {info.get('pid')} on {info.get('host')} since {info.get('since')}: "
        f"{info.get('command', '')}"
    )
