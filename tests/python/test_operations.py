"""Operations and data observability marts (models/marts/operations) on the tiny warehouse.

The shared tiny warehouse (conftest) is read only. Its `dbt build` ran on a fresh warehouse, so
it also shows that the ops table for dbt's run results is created on the first run and that the
marts over it build then.
"""

from __future__ import annotations

import csv
import json

import duckdb
import numpy as np
import pytest

from ingestion.contract import TABLES
from orchestration.assets.report import render_report


@pytest.fixture(scope="module")
def con(tiny_warehouse):
    connection = duckdb.connect(str(tiny_warehouse.warehouse), read_only=True)
    yield connection
    connection.close()


def rows(con, sql: str, params=None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def planted_malformed_rows(landing) -> dict[str, int]:
    counts: dict[str, int] = {}
    with open(landing / "_simulator" / "planted_cases.csv", newline="") as fh:
        for case in csv.DictReader(fh):
            if case["kind"] == "fault" and case["rule"] == "malformed_row":
                counts[case["table_name"]] = counts.get(case["table_name"], 0) + 1
    return counts


def test_quarantined_rows_match_raw_quarantine_and_the_planted_faults(con, tiny_warehouse):
    planted = planted_malformed_rows(tiny_warehouse.landing)
    assert sum(planted.values()) > 0
    in_raw = dict(rows(con, "select table_name, count(*) from raw._quarantine group by 1"))
    by_reason = dict(
        rows(
            con,
            "select source_table, sum(rows_quarantined) from marts.fct_quarantined_rows_daily "
            "group by 1",
        )
    )
    by_day = dict(
        rows(
            con,
            "select source_table, sum(rows_quarantined) from marts.fct_source_loads_daily "
            "where rows_quarantined > 0 group by 1",
        )
    )
    assert in_raw == planted
    assert by_reason == planted
    assert by_day == planted
    # every planted kind of fault is named (no catch-all for the loaders' own checks)
    categories = {
        r[0] for r in rows(con, "select reason_category from marts.fct_quarantined_rows_daily")
    }
    assert {
        "wrong_type",
        "unknown_enum_value",
        "required_value_missing",
        "not_positive",
    } <= categories
    assert "malformed_record" not in categories


def test_daily_loads_agree_with_raw_and_the_loaders_bookkeeping(con):
    loads = {
        table: (loaded, in_raw)
        for table, loaded, in_raw in rows(
            con,
            "select source_table, sum(rows_loaded), sum(rows_in_raw) "
            "from marts.fct_source_loads_daily group by 1",
        )
    }
    assert set(loads) == set(TABLES)
    for table in TABLES:
        count = rows(con, f'select count(*) from raw."{table}"')[0][0]
        assert loads[table] == (count, count), table
    lag = dict(
        rows(
            con,
            "select source_table, max(freshness_lag_hours) from marts.fct_source_loads_daily "
            "group by 1",
        )
    )
    # the rows' event times are in the past of their load: a positive lag, NULL without time
    assert lag["user_tiers"] is None
    assert all(v > 0 for t, v in lag.items() if t != "user_tiers")


def test_raw_profile_uses_each_tables_contract_event_time(con):
    """stg_loader__raw_rows_daily names each table's event time column: held to the contract."""
    profile = {
        t: (n, last)
        for t, n, last in rows(
            con,
            "select source_table, sum(row_count), max(last_event_at) "
            "from staging.stg_loader__raw_rows_daily group by 1",
        )
    }
    assert set(profile) == set(TABLES)
    for name, table in TABLES.items():
        column = table.column(table.event_time)
        count, newest = rows(
            con,
            f'select count(*), max("{column.name}") from raw."{name}"'
            if column.type == "timestamp"
            else f'select count(*), null from raw."{name}"',
        )[0]
        assert profile[name] == (count, newest), name


def test_system_metric_percentiles_and_breaches(con):
    day, metric = rows(
        con,
        "select metric_date, metric_type from marts.fct_system_metrics_daily "
        "where sample_count > 0 order by p99_value desc limit 1",
    )[0]
    values = np.array(
        [
            float(v[0])
            for v in rows(
                con,
                "select value from raw.system_metrics "
                "where metric_type = ? and cast(recorded_at as date) = ?",
                [metric, day],
            )
        ]
    )
    p50, p95, p99, count = rows(
        con,
        "select p50_value, p95_value, p99_value, sample_count from marts.fct_system_metrics_daily "
        "where metric_type = ? and metric_date = ?",
        [metric, day],
    )[0]
    assert count == len(values)
    assert np.allclose([p50, p95, p99], np.percentile(values, [50, 95, 99]), rtol=1e-9)
    inconsistent = rows(
        con,
        "select count(*) from marts.fct_system_metrics_daily "
        "where is_breach <> coalesce(p50_value > p50_threshold or p95_value > p95_threshold "
        "or p99_value > p99_threshold, false)",
    )[0][0]
    assert inconsistent == 0
    types = {
        r[0] for r in rows(con, "select distinct metric_type from marts.fct_system_metrics_daily")
    }
    assert types == {"api_response_time", "database_connections", "order_processing_time"}


def test_first_build_recorded_its_run_results_and_scorecard(con, tiny_warehouse):
    manifest = json.loads((tiny_warehouse.root / "dbt_target" / "manifest.json").read_text())
    data_tests = sum(1 for n in manifest["nodes"].values() if n["resource_type"] == "test")
    first = rows(
        con,
        "select invocation_id, tests_run, tests_skipped, tests_passed, test_pass_rate, "
        "records_landed, records_quarantined, records_failing_tests, data_accuracy_rate, "
        "meets_accuracy_target from marts.fct_data_quality_scorecard "
        "where dbt_command = 'build' order by run_started_at limit 1",
    )
    assert first, "the tiny warehouse's dbt build recorded no run results"
    (invocation, run, skipped, passed, pass_rate, landed, quarantined, failing, accuracy, meets) = (
        first[0]
    )
    assert run + skipped == data_tests and skipped == 0
    assert 0 <= pass_rate <= 1 and pass_rate == pytest.approx(passed / run)
    loaded_files = rows(
        con, "select sum(rows_loaded), sum(rows_quarantined) from raw._loaded_files"
    )[0]
    assert (landed, quarantined) == (sum(loaded_files), loaded_files[1])
    assert 0 <= accuracy <= 1
    assert accuracy == pytest.approx((landed - quarantined - failing) / landed)
    assert meets == (accuracy >= 0.99)
    # the build's stages, with work time; the load run with every record read
    stages = dict(
        rows(
            con,
            "select stage_name, work_seconds from marts.fct_pipeline_run_stages "
            "where pipeline_run_id = ?",
            [invocation],
        )
    )
    assert {"model:staging", "model:intermediate", "model:marts", "test", "seed"} <= set(stages)
    assert all(seconds > 0 for seconds in stages.values())
    load_rows = rows(
        con,
        "select sum(rows_processed), min(work_seconds) from marts.fct_pipeline_runs "
        "where run_kind = 'load'",
    )[0]
    assert load_rows[0] == sum(loaded_files) and load_rows[1] > 0


def test_daily_report_shows_the_scorecard(con):
    last_day, markdown = render_report(
        con,
        "marts.fct_daily_exchange_kpis",
        "marts.fct_compliance_alerts",
        "marts.fct_data_quality_scorecard",
        "marts.fct_system_metrics_daily",
    )
    assert last_day
    assert "## Data quality scorecard" in markdown
    assert f"## System performance on {last_day}" in markdown
    accuracy = rows(
        con,
        "select data_accuracy_rate from marts.fct_data_quality_scorecard "
        "order by run_started_at desc limit 1",
    )[0][0]
    assert f"{accuracy:.3%}" in markdown
