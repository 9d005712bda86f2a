"""The benchmark's code path on the tiny scale (issue 9). Never a timing assertion: it checks
that the stages run, measure and report, that the build floor computes the same daily KPIs as
the mart, and that the benchmark's daily delivery equals the simulator's own ``--until``."""

from __future__ import annotations

import datetime as dt
import filecmp
import json
import os
import sys
from pathlib import Path

from benchmarks.dashboard import DASHBOARD_QUERIES
from benchmarks.run import FLOOR_MART, ancestors, split_landing

from .conftest import run


def _stage(args: list[str], env: dict) -> dict:
    out = run([sys.executable, "-m", "benchmarks.stages", *args], env).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_build_floor_agrees_with_the_daily_kpi_mart(tiny_warehouse):
    result = _stage(["kpi-floor", "--warehouse", str(tiny_warehouse.warehouse)], tiny_warehouse.env)
    agreement = result["agreement"]
    assert result["days"] > 0
    assert agreement["compared"] and agreement["days_both"] == result["days"]
    assert agreement["agrees"], agreement


def test_dashboard_queries_answer_on_the_marts(tiny_warehouse):
    result = _stage(
        ["dashboard", "--warehouse", str(tiny_warehouse.warehouse), "--repeat", "2"],
        tiny_warehouse.env,
    )
    assert set(result["queries"]) == set(DASHBOARD_QUERIES)
    for name in ("daily_kpis_vs_targets", "revenue_by_tier_by_month", "compliance_alert_queue"):
        assert result["queries"][name]["rows"] > 0, name
    assert all(q["median_ms"] > 0 for q in result["queries"].values())


def test_last_day_split_equals_the_simulators_until(tiny_landing, tmp_path):
    """The increment's prefix is exactly what `simulate --until <day before the last>` writes,
    and the last day's files are exactly the rest."""
    prefix, day = tmp_path / "prefix", tmp_path / "day"
    last, n_prefix, n_day = split_landing(tiny_landing, prefix, day)
    assert n_prefix > 0 and n_day > 0
    assert all(last in p.name for p in day.rglob("*") if p.is_file())
    until = tmp_path / "until"
    before = dt.date.fromisoformat(last) - dt.timedelta(days=1)
    run(
        [
            sys.executable,
            "-m",
            "simulator",
            "--scale",
            "tiny",
            "--out",
            str(until),
            "--until",
            before.isoformat(),
            "--quiet",
        ],
        dict(os.environ),
    )
    written = sorted(
        p.relative_to(until)
        for p in until.rglob("*")
        if p.is_file() and not p.relative_to(until).parts[0].startswith("_")
    )
    linked = sorted(p.relative_to(prefix) for p in prefix.rglob("*") if p.is_file())
    assert written == linked
    _, mismatch, errors = filecmp.cmpfiles(until, prefix, [str(p) for p in written], shallow=False)
    assert not mismatch and not errors


def test_benchmark_runs_and_writes_its_result(tmp_path, tiny_warehouse):
    out = tmp_path / "bench"
    env = dict(tiny_warehouse.env)
    run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--scale",
            "tiny",
            "--out",
            str(out),
            "--skip",
            "build",
            "build_floor",
            "dashboard",
            "report",
            "incremental",
            "--free-landing",
        ],
        env,
    )
    result = json.loads((out / "result.json").read_text())
    stages = result["stages"]
    assert list(stages) == ["simulate", "load_floor", "load"]
    assert stages["simulate"]["rows"] == stages["load_floor"]["rows"] == stages["load"]["rows"]
    for stage in stages.values():
        assert stage["wall_seconds"] > 0 and stage["cpu_seconds"] > 0
        assert 0 < stage["peak_rss_bytes"] < 4 * 2**30
    assert result["ratios"]["load_over_floor_wall"] > 0
    assert result["machine"]["cores"] and len(result["machine"]["load_average_at_start"]) == 3
    assert result["sizes_bytes"]["warehouse_after_load_bytes"] > 0
    assert result["sizes_bytes"]["landing_bytes"] > 0
    assert not (out / "landing").exists(), "--free-landing deletes the files after the load"
    markdown = (out / "result.md").read_text()
    assert "| load (loader) |" in markdown and "load_over_floor_wall" in markdown


def test_the_kpi_path_is_what_the_floor_replaces(tiny_warehouse):
    """The build's models set against the floor: the KPI mart and what it is built from, from
    staging up, and nothing beside it (the compliance marts)."""
    manifest = json.loads(
        (Path(tiny_warehouse.env["DBT_TARGET_PATH"]) / "manifest.json").read_text()
    )
    path = {u.split(".")[-1] for u in ancestors(manifest, FLOOR_MART) if u.startswith("model.")}
    assert {"fct_daily_exchange_kpis", "int_trades_valued", "stg_exchange__trades"} <= path
    assert "fct_compliance_alerts" not in path and "dim_user_segments" not in path


def test_the_daily_build_is_what_dagsters_day_partition_builds():
    """The benchmark's builds run dbt as Dagster's steps do (no unit tests), and its daily build
    selects the nodes of Dagster's day partition: the models tagged ``daily_partitioned`` (the
    partitioned asset) and every model, seed and snapshot they are built from (the upstream
    asset), with the tests that read only those (``buildable``)."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    from benchmarks.run import DAILY_SELECT, FULL_BUILD, INCREMENT_BUILD
    from orchestration.assets.dbt import (
        ASSET_NODE_TYPES,
        INDIRECT_SELECTION,
        MANIFEST,
        PARTITIONED_TAG,
        dbt_build_args,
        dbt_incremental_models,
        dbt_upstream_models,
        translator,
    )
    from orchestration.dbt_project import dbt_project

    expected = ["--select", f"+tag:{PARTITIONED_TAG}", "--indirect-selection", "buildable"]
    assert expected == DAILY_SELECT
    assert INDIRECT_SELECTION == "buildable"
    # the full build and the day's run as Dagster's dbt steps: no unit tests
    assert dbt_build_args() == FULL_BUILD
    assert INCREMENT_BUILD[: len(FULL_BUILD)] == FULL_BUILD
    assert "test_days: 1" in " ".join(INCREMENT_BUILD)
    tagged = [
        unique_id
        for unique_id, node in MANIFEST["nodes"].items()
        if node["resource_type"] == "model" and PARTITIONED_TAG in node["tags"]
    ]
    assert tagged, "the project has daily-partitioned models"
    selected = set().union(*(ancestors(MANIFEST, unique_id) for unique_id in tagged))
    selected_keys = {
        translator.get_asset_spec(MANIFEST, unique_id, dbt_project).key
        for unique_id in selected
        if unique_id.split(".")[0] in ASSET_NODE_TYPES
    }
    dagster_keys = set(dbt_incremental_models.keys) | set(dbt_upstream_models.keys)
    assert selected_keys == dagster_keys
    # and it is a small part of the project: not the 500-odd nodes of a full build
    models = [n for n in MANIFEST["nodes"].values() if n["resource_type"] in ASSET_NODE_TYPES]
    assert len(selected_keys) < len(models) / 4
