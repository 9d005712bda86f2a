"""Enforced contracts on the marts that BI tools read (docs/architecture.md, "Contracts").

A copy of the project beside a copy of the tiny warehouse: the mart builds as it is, and a
breaking change to it (a column's type changed, a column removed) fails the build before the
table is replaced, naming the contract.
"""

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.python.conftest import BIN, REPO, project_env

MART = "rpt_monthly_revenue_by_tier"
MART_SQL = Path("models/marts/exchange") / f"{MART}.sql"
PROJECT_PARTS = ("dbt_project.yml", "models", "macros", "seeds", "snapshots", "analyses")


@pytest.fixture
def project_copy(tmp_path, tiny_warehouse):
    copy = tmp_path / "project"
    copy.mkdir()
    for part in PROJECT_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, copy / part)
        elif source.exists():
            shutil.copy(source, copy / part)
    (copy / "tests" / "dbt").mkdir(parents=True)
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(tiny_warehouse.warehouse, warehouse)
    return copy, project_env(tmp_path, warehouse)


def build_mart(copy: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "dbt"), "run", "-s", MART, "--project-dir", str(copy)],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
    )


def edit(copy: Path, old: str, new: str) -> None:
    path = copy / MART_SQL
    text = path.read_text()
    assert old in text, f"{old!r} not in {MART_SQL}: update this test"
    path.write_text(text.replace(old, new))


def test_the_mart_builds_under_its_contract(project_copy):
    copy, env = project_copy
    result = build_mart(copy, env)
    assert result.returncode == 0, result.stdout[-3000:]


def test_a_changed_column_type_fails_the_build(project_copy):
    copy, env = project_copy
    # revenue_usd back to a float: the contract says DECIMAL(38, 9)
    edit(copy, "{{ money('revenue_usd') }} as revenue_usd", "revenue_usd")
    result = build_mart(copy, env)
    assert result.returncode != 0
    assert "contract" in result.stdout.lower()
    assert "revenue_usd" in result.stdout


def test_a_removed_column_fails_the_build(project_copy):
    copy, env = project_copy
    edit(copy, "    tier_name,\n", "")
    result = build_mart(copy, env)
    assert result.returncode != 0
    assert "contract" in result.stdout.lower()
    assert "tier_name" in result.stdout
