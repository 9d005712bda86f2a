"""The Dagster instance: ``$DAGSTER_HOME/dagster.yaml``, written from this project's settings.

    python -m orchestration.instance --home data/dagster_home

writes ``<home>/dagster.yaml``: the run queue and telemetry settings of
orchestration/dagster.yaml, and the storage for runs, event logs and schedules:

* PostgreSQL when ``EXCHANGE_DAGSTER_POSTGRES_URL`` is set (a SQLAlchemy URL naming the
  installed driver, psycopg2: ``postgresql+psycopg2://dagster@db.internal:5432/dagster``;
  dagster-postgres). The file names the
  variable, not its value: the password stays in the environment of the webserver, the daemon
  and the runs.
* SQLite files under ``<home>`` otherwise (Dagster's default; one machine, light use).

``make dagster`` and ``make pipeline`` (when ``DAGSTER_HOME`` is set) write it before starting,
so changing the variable switches the storage. docs/deployment.md has the full story.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import yaml

from warehouse import settings

POSTGRES_URL_VARIABLE = "EXCHANGE_DAGSTER_POSTGRES_URL"
SETTINGS_FILE = Path(__file__).with_name("dagster.yaml")


DRIVER_SCHEME = "postgresql+psycopg2://"


class InstanceSettingsError(ValueError):
    """The instance cannot be configured as asked."""


def postgres_url() -> str | None:
    """``EXCHANGE_DAGSTER_POSTGRES_URL``; None when unset. A URL without the psycopg2 driver
    raises InstanceSettingsError: SQLAlchemy would look for psycopg 3, which is not installed."""
    url = settings.current().dagster_postgres_url
    if url is not None and not url.startswith(DRIVER_SCHEME):
        scheme = url.split("://", 1)[0] if "://" in url else url[:20]
        raise InstanceSettingsError(
            f"{POSTGRES_URL_VARIABLE} must start with {DRIVER_SCHEME} (the installed driver), "
            f"not {scheme}://: e.g. {DRIVER_SCHEME}dagster@db.internal:5432/dagster"
        )
    return url


def instance_settings(use_postgres: bool | None = None) -> dict:
    """The instance settings: orchestration/dagster.yaml plus the storage section."""
    settings = yaml.safe_load(SETTINGS_FILE.read_text()) or {}
    if use_postgres is None:
        use_postgres = postgres_url() is not None
    if use_postgres:
        settings["storage"] = {"postgres": {"postgres_url": {"env": POSTGRES_URL_VARIABLE}}}
    else:
        settings.pop("storage", None)  # SQLite under $DAGSTER_HOME
    return settings


def write_dagster_home(home: Path, use_postgres: bool | None = None) -> Path:
    """Write ``home/dagster.yaml``; returns its path."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "dagster.yaml"
    settings = instance_settings(use_postgres)
    storage = (
        f"PostgreSQL (${POSTGRES_URL_VARIABLE})"
        if "storage" in settings
        else "SQLite under this directory"
    )
    header = (
        "# Written by `python -m orchestration.instance` from orchestration/dagster.yaml;\n"
        f"# storage: {storage}.\n"
    )
    path.write_text(header + yaml.safe_dump(settings, sort_keys=False))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.instance", description=__doc__)
    parser.add_argument(
        "--home",
        type=Path,
        default=Path(os.environ.get("DAGSTER_HOME") or "data/dagster_home"),
        help="the DAGSTER_HOME directory (default: $DAGSTER_HOME, else data/dagster_home)",
    )
    args = parser.parse_args(argv)
    try:
        path = write_dagster_home(args.home.resolve())
    except InstanceSettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    storage = "PostgreSQL" if postgres_url() else "SQLite"
    print(f"{path}: {storage} run storage", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
