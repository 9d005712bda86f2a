"""Shared fixtures: one tiny warehouse built the way a user builds it (simulate → load →
dbt build), reused by every test that reads marts."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class BuiltWarehouse:
    root: Path
    landing: Path
    warehouse: Path
    env: dict


def project_env(root: Path, warehouse: Path) -> dict:
    """Environment for dbt and the loaders pointed at a private warehouse file."""
    env = dict(os.environ)
    env.update(
        EXCHANGE_WAREHOUSE=str(warehouse),
        EXCHANGE_DUCKDB_TEMP_DIR=str(root / "duckdb_tmp"),
        EXCHANGE_DUCKDB_MEMORY_LIMIT="2GB",
        DBT_TARGET_PATH=str(root / "dbt_target"),
        DBT_LOG_PATH=str(root / "dbt_logs"),
        DBT_PROFILES_DIR=str(REPO),
        DO_NOT_TRACK="1",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def run(args: list[str], env: dict, cwd: Path = REPO) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, args))} exited {result.returncode}\n"
            f"--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-4000:]}"
        )
    return result


def dbt(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return run([str(BIN / "dbt"), *args], env)


@pytest.fixture(scope="session", autouse=True)
def profiles_file() -> None:
    """dbt reads ./profiles.yml; a fresh clone has only the example."""
    profiles = REPO / "profiles.yml"
    if not profiles.exists():
        profiles.write_text((REPO / "profiles.yml.example").read_text())


@pytest.fixture(scope="session")
def tiny_landing(tmp_path_factory) -> Path:
    landing = tmp_path_factory.mktemp("tiny_landing") / "landing"
    run([sys.executable, "-m", "ingestion.simulator", "--scale", "tiny", "--out", str(landing), "--quiet"],
        dict(os.environ))
    return landing


@pytest.fixture(scope="session")
def tiny_warehouse(tmp_path_factory, tiny_landing, profiles_file) -> BuiltWarehouse:
    """The tiny scale, simulated, loaded and built with `dbt build` (every dbt test passes)."""
    root = tmp_path_factory.mktemp("tiny_warehouse")
    warehouse = root / "warehouse.duckdb"
    env = project_env(root, warehouse)
    run([sys.executable, "-m", "ingestion.loaders", "--landing", str(tiny_landing),
         "--warehouse", str(warehouse)], env)
    dbt(["build"], env)
    return BuiltWarehouse(root, tiny_landing, warehouse, env)
