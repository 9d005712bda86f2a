"""The BigQuery emulator of the tests: crucible-emulator 0.1.0a2 in its own virtual environment
(``.venv-bq-emulator/``, its own duckdb), served by scripts/bigquery_emulator_serve.py on a free
port, in memory. docs/bigquery.md, "The emulator".

Under CI=true a failure to install or start it fails the tests; elsewhere they are skipped with
the reason (e.g. no package index).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import REPO, _running_under_ci

EMULATOR_VERSION = "0.1.0a2"
# the emulator's Parquet load jobs hand the rows to its DuckDB as an Arrow table
PYARROW_VERSION = "26.0.1"
EMULATOR_VENV = Path(os.environ.get("EXCHANGE_BQ_EMULATOR_VENV", REPO / ".venv-bq-emulator"))
SERVE = REPO / "scripts" / "bigquery_emulator_serve.py"
PROJECT = "exchange-emulator"


def _python() -> Path:
    return EMULATOR_VENV / "bin" / "python"


def _installed() -> bool:
    if not _python().exists():
        return False
    done = subprocess.run(
        [
            str(_python()),
            "-c",
            "import importlib.metadata as m; "
            "print(m.version('crucible-emulator'), m.version('pyarrow'))",
        ],
        capture_output=True,
        text=True,
    )
    return done.returncode == 0 and done.stdout.split() == [EMULATOR_VERSION, PYARROW_VERSION]


def install_emulator() -> None:
    """Create the emulator's virtual environment once (about 45 s); a no-op when it exists with
    the pinned versions (an older one without pyarrow gets it)."""
    if _installed():
        return
    if not _python().exists():
        subprocess.run([sys.executable, "-m", "venv", str(EMULATOR_VENV)], check=True)
    done = subprocess.run(
        [
            str(_python()),
            "-m",
            "pip",
            "install",
            "-q",
            f"crucible-emulator[server]=={EMULATOR_VERSION}",
            f"pyarrow=={PYARROW_VERSION}",
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"pip install crucible-emulator failed:\n{done.stderr[-3000:]}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_emulator(log: Path) -> Iterator[str]:
    """Start the emulator; yields its endpoint; stops it."""
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [str(_python()), str(SERVE), "--port", str(port)],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(
                    f"{endpoint}/bigquery/v2/projects/{PROJECT}/datasets", timeout=2
                )
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the emulator did not start (exit {process.poll()}):\n"
                        + log.read_text()[-3000:]
                    ) from None
                time.sleep(0.3)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def bigquery_emulator(tmp_path_factory) -> Iterator[str]:
    """An emulator of its own for a test module: its endpoint. EXCHANGE_BQ_API_ENDPOINT and
    EXCHANGE_BQ_PROJECT point the loader's client at it while the module runs."""
    log = tmp_path_factory.mktemp("bigquery_emulator") / "emulator.log"
    try:
        install_emulator()
        context = running_emulator(log)
        endpoint = context.__enter__()
    except (OSError, RuntimeError, subprocess.CalledProcessError) as exc:
        reason = f"the BigQuery emulator could not be installed or started: {exc}"
        if _running_under_ci():
            pytest.fail(f"{reason}. CI=true: the BigQuery tests must run in CI.", pytrace=False)
        pytest.skip(reason)
    saved = {k: os.environ.get(k) for k in ("EXCHANGE_BQ_API_ENDPOINT", "EXCHANGE_BQ_PROJECT")}
    os.environ.update(EXCHANGE_BQ_API_ENDPOINT=endpoint, EXCHANGE_BQ_PROJECT=PROJECT)
    try:
        yield endpoint
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        context.__exit__(None, None, None)
