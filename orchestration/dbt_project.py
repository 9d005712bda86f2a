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

import yaml
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


# dbt's own default for each path key of dbt_project.yml that the file leaves out
DBT_PATH_DEFAULTS = {
    "model-paths": ["models"],
    "seed-paths": ["seeds"],
    "macro-paths": ["macros"],
    "snapshot-paths": ["snapshots"],
    "test-paths": ["tests"],
    "analysis-paths": ["analyses"],
}


def newest_project_input(project_dir: Path = PROJECT_DIR) -> float:
    """The latest modification time among the files dbt parses: dbt_project.yml and the folders
    its path keys name."""
    config_file = project_dir / "dbt_project.yml"
    config = yaml.safe_load(config_file.read_text())
    folders = [
        project_dir / folder
        for key, default in DBT_PATH_DEFAULTS.items()
        for folder in config.get(key, default)
    ]
    files = [config_file, *(f for folder in folders for f in folder.rglob("*") if f.is_file())]
    return max(f.stat().st_mtime for f in files)


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
