"""Resources: the DuckDB warehouse (one writer at a time), the landing directory, the alert
webhook and dbt.

Every setting defaults from the environment when the resource is used, so one variable drives
the loaders, dbt (profiles.yml reads it too) and Dagster alike: ``EXCHANGE_WAREHOUSE``,
``EXCHANGE_LANDING_DIR``, ``EXCHANGE_ALERT_WEBHOOK_URL`` (``warehouse/settings.py``). Relative
paths are taken from the project directory, which is where dbt runs.

One writer at a time: every writer locks ``<warehouse>.lock`` (an exclusive ``flock``, see
``warehouse/locking.py``), the loaders for every load. Dagster takes the same lock around each dbt
invocation and around its own reads and writes of the warehouse, so a load, a dbt build and an
alert run never open the DuckDB file at once, whichever process starts them: the second waits
(up to ``lock_timeout_seconds``) and then stops with an error naming the holder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
from collections.abc import Iterator, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
import dbt.version
import httpx
from dagster_dbt import DbtCliResource
from packaging.version import Version

from orchestration.dbt_project import PROJECT_DIR, dbt_executable, dbt_project
from warehouse import Limits, WarehouseLock, open_warehouse, settings

DEFAULT_LOCK_TIMEOUT_SECONDS = 1800.0


def _project_path(value: str | os.PathLike) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else PROJECT_DIR / path


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file, opened by one process at a time."""

    path: str | None = None
    lock_timeout_seconds: float | None = None

    def resolved_path(self) -> Path:
        return _project_path(self.path or settings.current().warehouse)

    def resolved_lock_timeout(self) -> float:
        if self.lock_timeout_seconds is not None:
            return float(self.lock_timeout_seconds)
        configured = settings.current().lock_timeout
        return DEFAULT_LOCK_TIMEOUT_SECONDS if configured is None else configured

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the warehouse's writer lock (the loaders' lock file)."""
        path = self.resolved_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        with WarehouseLock(path, self.resolved_lock_timeout()):
            yield

    @contextlib.contextmanager
    def connect(self, read_only: bool = False) -> Iterator[Any]:
        """A DuckDB connection under the lock; closed and unlocked on exit.

        ``read_only`` on a file that does not exist yet raises FileNotFoundError.
        """
        limits = Limits.from_env(lock_timeout=self.resolved_lock_timeout())
        with open_warehouse(
            self.resolved_path(), read_only=read_only, limits=limits, lock=True
        ) as con:
            yield con

    def dbt_vars(self) -> dict[str, str]:
        """The dbt vars that point dbt at this warehouse: ``exchange_warehouse`` (read by
        profiles.yml before ``EXCHANGE_WAREHOUSE``) when a path is configured; none otherwise,
        as dbt then reads the same environment variable this resource defaults from."""
        return {"exchange_warehouse": str(self.resolved_path())} if self.path else {}


class LandingResource(dg.ConfigurableResource):
    """The landing directory: ``<landing>/<table>/`` folders of files (docs/landing_contract.md)."""

    path: str | None = None
    # Great Expectations Data Docs of the landing gate (ingestion/landing_expectations.py)
    gx_docs_path: str | None = None

    def resolved_path(self) -> Path:
        return _project_path(self.path or settings.current().landing_dir)

    def resolved_gx_docs_path(self) -> Path:
        return _project_path(self.gx_docs_path or settings.current().gx_docs_dir)


class AlertWebhookError(RuntimeError):
    """The webhook did not accept a message."""


class AlertWebhookResource(dg.ConfigurableResource):
    """A Slack-compatible incoming webhook: POST ``{"text": ...}`` as JSON."""

    url: str | None = None
    timeout_seconds: float = 10.0

    def resolved_url(self) -> str | None:
        return self.url or settings.current().alert_webhook_url

    def post(self, payload: dict[str, Any]) -> None:
        url = self.resolved_url()
        if not url:
            raise AlertWebhookError("no webhook URL: set EXCHANGE_ALERT_WEBHOOK_URL")
        post_json(url, payload, self.timeout_seconds)


def post_json(url: str, payload: dict[str, Any], timeout: float = 10.0) -> None:
    """POST ``payload`` as JSON; raises AlertWebhookError unless the answer is 2xx.

    Not retried: the alerts asset records what was sent and tries an unsent alert again on its
    next run (orchestration/alerts.py). Redirects are not followed (a webhook answers itself).
    """
    try:
        response = httpx.post(url, json=payload, timeout=timeout)
    except httpx.HTTPError as e:
        raise AlertWebhookError(f"webhook unreachable: {type(e).__name__}: {e}") from None
    if not 200 <= response.status_code < 300:
        raise AlertWebhookError(
            f"webhook answered HTTP {response.status_code}: {response.reason_phrase}"
        )


class ExchangeDbtCliResource(DbtCliResource):
    """dagster-dbt's dbt resource without two set-up costs of features this project does not use
    (docs/deployment.md, "What a run costs the instance"):

    - the version of dbt: dagster-dbt runs ``dbt --version`` once per process (seconds of dbt's
      imports); the venv's own dbt is this process's dbt-core, whose version is already known.
    - the dbt adapter that dagster-dbt opens in this process before every dbt step, only to
      fetch row counts and column metadata, which no asset here asks for.

    And one it pays by design: every dbt step runs in a new target folder, into which
    dagster-dbt copies the project's ``target/partial_parse.msgpack``, which ``dbt parse`` wrote
    without vars. A step with other vars (``test_days`` in every hourly run) then parses the
    whole project again, since changed vars turn dbt's partial parsing off.
    ``target_keeping_partial_parse`` keeps each step's parse for the next step with the same
    vars; dbt itself still checks it against the project's files.
    """

    @cached_property
    def _cli_version(self) -> Version:
        if Path(self.dbt_executable) == Path(sys.executable).parent / "dbt":
            return Version(dbt.version.__version__)
        return super()._cli_version

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None

    @contextlib.contextmanager
    def target_keeping_partial_parse(
        self, context: dg.AssetExecutionContext, dbt_vars: Mapping[str, Any]
    ) -> Iterator[Path]:
        """A new target folder for one dbt step (pass it to ``cli``), holding the parse last kept
        for the same vars; the step's own parse is kept when it succeeds. Not kept for a window
        of past days (``min_date``/``max_date``): a backfill's vars do not come again."""
        target = Path(self.project_dir, self._get_unique_target_path(context=context))
        kept = _kept_partial_parse(target.parent, dbt_vars)
        if kept.exists():
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(kept, target / PARTIAL_PARSE_FILE)
        yield target
        parsed = target / PARTIAL_PARSE_FILE
        if parsed.exists() and not {"min_date", "max_date"} & set(dbt_vars):
            kept.parent.mkdir(parents=True, exist_ok=True)
            partial = kept.with_suffix(".partial")
            shutil.copyfile(parsed, partial)
            os.replace(partial, kept)


PARTIAL_PARSE_FILE = "partial_parse.msgpack"


def _kept_partial_parse(target_root: Path, dbt_vars: Mapping[str, Any]) -> Path:
    """Where the parse of dbt steps run with ``dbt_vars`` is kept, beside the steps' own target
    folders in ``target_root``: one file per set of vars."""
    key = hashlib.sha256(json.dumps(dict(dbt_vars), sort_keys=True).encode()).hexdigest()[:16]
    return target_root / "partial_parse" / f"{key}.msgpack"


def dbt_resource() -> DbtCliResource:
    return ExchangeDbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())


def default_resources() -> dict[str, Any]:
    return {
        "dbt": dbt_resource(),
        "warehouse": WarehouseResource(),
        "landing": LandingResource(),
        "alert_webhook": AlertWebhookResource(),
    }
