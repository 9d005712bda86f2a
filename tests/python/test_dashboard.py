"""The dashboard's queries (dashboard/queries.py) without a browser: every query runs on the
tiny warehouse with parameters, filters filter, a writer's lock gives the clear error, and
models/exposures.yml declares every page with the marts it reads."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import yaml

from dashboard import queries
from dashboard.sitemap import PAGES

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def con(tiny_warehouse):
    with queries.connect(tiny_warehouse.warehouse) as con:
        yield con


def test_every_query_runs_with_the_default_parameters(con):
    params = queries.default_params(con)
    assert params["start_date"] < params["end_date"]
    # The churn model's table is written by `make score`, the revenue forecast by
    # `make forecast`; the tiny build runs neither.
    written_by = {
        "fct_churn_predictions": "make score",
        "fct_churn_model_evaluation": "make score",
        "fct_revenue_forecast": "make forecast",
    }
    for query in queries.QUERIES.values():
        missing = [t for t in written_by if t in query.marts and not queries.table_exists(con, t)]
        if missing:
            with pytest.raises(queries.WarehouseMissing, match=written_by[missing[0]]):
                queries.run(con, query, params)
            continue
        frame = queries.run(con, query, params)
        assert len(frame.columns) > 0, query.name
    assert (
        len(queries.run(con, "executive_daily_kpis", params))
        == (params["end_date"] - params["start_date"]).days + 1
    )


def test_queries_take_values_as_parameters_never_as_text():
    for query in queries.QUERIES.values():
        for name in query.params:
            assert f"${name}" in query.sql
        # Nothing left for str.format or % to fill in.
        assert "{" not in query.sql and "%s" not in query.sql, query.name


def test_filters_narrow_the_results(con):
    params = queries.default_params(con)
    pairs = queries.run(con, "pairs").symbol.tolist()
    assert len(pairs) >= 2
    every = queries.run(con, "liquidity_by_pair", params)
    one = queries.run(con, "liquidity_by_pair", params | {"symbols": [pairs[0]]})
    assert one.symbol.tolist() == [pairs[0]]
    assert set(every.symbol) == set(pairs)

    alerts = queries.run(con, "compliance_alerts", params)
    severity = alerts.severity.iloc[0]
    high = queries.run(con, "compliance_alerts", params | {"severities": [severity]})
    assert 0 < len(high) < len(alerts)
    assert set(high.severity) == {severity}
    # A value that cannot match is a parameter, not SQL: no rows, no error.
    hostile = queries.run(con, "compliance_alerts", params | {"rules": ["x') or 1=1 --"]})
    assert hostile.empty

    day = params["end_date"]
    one_day = queries.run(con, "executive_daily_kpis", params | {"start_date": day})
    assert one_day.kpi_date.dt.date.tolist() == [day]


def test_a_missing_parameter_is_a_clear_error(con):
    with pytest.raises(ValueError, match="needs parameter"):
        queries.run(con, "executive_daily_kpis", {})


def test_missing_warehouse_and_writer_lock_give_clear_messages(tiny_warehouse, tmp_path):
    with (
        pytest.raises(queries.WarehouseMissing, match="make pipeline"),
        queries.connect(tmp_path / "absent.duckdb"),
    ):
        pass
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(tiny_warehouse.warehouse, copy)
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('locked', "
            "flush=True); time.sleep(60)",
            str(copy),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "locked"
        with (
            pytest.raises(queries.WarehouseLocked, match="locked by another process"),
            queries.connect(copy),
        ):
            pass
    finally:
        writer.kill()
        writer.wait()
    deadline = time.monotonic() + 10
    while True:  # the lock goes with the process
        try:
            with queries.connect(copy) as con:
                assert (
                    con.execute("select count(*) from marts.fct_daily_exchange_kpis").fetchone()[0]
                    > 0
                )
            break
        except queries.WarehouseLocked:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_connections_are_read_only(con):
    with pytest.raises(duckdb.Error, match="read-only"):
        con.execute("create table marts.dashboard_must_not_write (x integer)")


def test_exposures_declare_every_page_and_the_marts_it_reads():
    exposures = yaml.safe_load((REPO / "models" / "exposures.yml").read_text())["exposures"]
    by_url = {e.get("url"): e for e in exposures}
    for page in PAGES:
        exposure = by_url.get(page.url())
        assert exposure, f"no exposure with url {page.url()}"
        assert exposure["type"] == "dashboard"
        assert exposure["owner"].get("name") or exposure["owner"].get("email")
        assert exposure["description"].strip()
        refs = {d.split("'")[1] for d in exposure["depends_on"]}
        # fct_churn_predictions and fct_revenue_forecast are written by predictive/, not dbt.
        python_tables = {
            "fct_churn_predictions",
            "fct_churn_model_evaluation",
            "fct_revenue_forecast",
        }
        assert refs == set(page.marts) - python_tables, page.url_path
    assert any(
        e["type"] in ("application", "analysis") and "report" in e["name"] for e in exposures
    ), "the daily report has no exposure"
