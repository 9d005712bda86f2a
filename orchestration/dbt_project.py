"""The dbt project, loaded once for every Dagster definition that needs it.

Dagster builds the dbt assets from ``target/manifest.json``. The manifest is made by ``dbt
parse`` (DbtProject's prepare step): under ``dagster dev`` on every load of the code location
(so model edits show up), elsewhere when the manifest is missing or older than a file of the
project (a model edited since: a stale manifest fails the run on the first node it does not
know). A deployment prepares it first: ``dagster-dbt project prepare-and-package --file
orchestration/dbt_project.py``.

``DBT_TARGET_PATH`` (dbt's own variable) moves the manifest, ``DBT_PROFILES_DIR`` the
profiles, ``DBT_TARGET`` picks the profile target (default ``duckdb``).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from functools import cache
from pathlib import Path
from typing import Any

from dagster_dbt import DbtProject

PROJECT_DIR = Path(__file__).resolve().parent.parent


def _profiles_dir() -> Path:
    if os.environ.get("DBT_PROFILES_DIR"):
        return Path(os.environ["DBT_PROFILES_DIR"])
    # The committed profiles.yml reads every setting from the environment.
    return PROJECT_DIR


def dbt_executable() -> str:
    """The venv's dbt (beside this interpreter) when there is one, else ``dbt`` on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else "dbt"


dbt_project = DbtProject(
    project_dir=PROJECT_DIR,
    profiles_dir=_profiles_dir(),
    target=os.environ.get("DBT_TARGET") or None,
    target_path=os.environ.get("DBT_TARGET_PATH") or "target",
)


def _prepare_environment() -> None:
    """No tracking calls from dbt, and the venv's dbt on PATH for DbtProject's prepare step."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    executable = dbt_executable()
    if shutil.which("dbt") is None and executable != "dbt":
        os.environ["PATH"] = os.pathsep.join([str(Path(executable).parent), os.environ["PATH"]])


# What dbt parses (dbt_project.yml's paths): a change to any of them makes the manifest stale.
PROJECT_INPUTS = (
    "dbt_project.yml",
    "models",
    "macros",
    "seeds",
    "snapshots",
    "tests/dbt",
    "analyses",
)


def newest_project_input(project_dir: Path = PROJECT_DIR) -> float:
    """The latest modification time among the files dbt parses."""
    times = [0.0]
    for name in PROJECT_INPUTS:
        path = project_dir / name
        files = [path] if path.is_file() else path.rglob("*") if path.is_dir() else []
        times.extend(f.stat().st_mtime for f in files if f.is_file())
    return max(times)


def ensure_manifest(project: DbtProject = dbt_project) -> Path:
    """Run ``dbt parse`` (DbtProject's prepare step) when the manifest is missing or stale."""
    _prepare_environment()
    manifest = project.manifest_path
    newest_input = newest_project_input(Path(project.project_dir))
    if not manifest.exists() or manifest.stat().st_mtime < newest_input:
        project.preparer.prepare(project)
    return manifest


@cache
def load_manifest() -> dict[str, Any]:
    """The parsed manifest, read once per process."""
    return json.loads(ensure_manifest().read_text())


_prepare_environment()
dbt_project.prepare_if_dev()
ensure_manifest()
