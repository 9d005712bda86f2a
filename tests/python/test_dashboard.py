"""The dashboard's queries (dashboard/queries.py) without a browser: every query runs on the
tiny warehouse with parameters, filters filter, a writer's lock gives the clear error, and
models/exposures.yml declares every page with the marts it reads."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from dashboard import charts, queries
from dashboard.sitemap import PAGES
from dashboard.state import Window, known_values, parse_date, resolve_dates

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
        # ref('model'), or source('predictive', 'table') for what predictive/ writes
        refs = {d.split("'")[-2] for d in exposure["depends_on"]}
        assert refs == set(page.marts), page.url_path
    assert any(
        e["type"] in ("application", "analysis") and "report" in e["name"] for e in exposures
    ), "the daily report has no exposure"


# ------------------------------------------------------------------ URL state (issue 23 item 2)

D = dt.date
WINDOW = Window(first=D(2025, 10, 3), first_trading=D(2026, 10, 2), last=D(2026, 10, 31))


def test_dates_from_a_link_are_kept_cut_or_moved_and_every_change_is_said():
    # No dates: the default, from the first trading day, without a note.
    assert resolve_dates(None, None, WINDOW) == ((D(2026, 10, 2), D(2026, 10, 31)), None)
    # Inside the data, before trading too: as asked.
    assert resolve_dates(D(2025, 11, 1), D(2025, 11, 30), WINDOW) == (
        (D(2025, 11, 1), D(2025, 11, 30)),
        None,
    )
    # Wholly before the data (issue 23: 2025-01-01..31 became one day, silently): the same
    # 31 days from the first day of data, said.
    shown, note = resolve_dates(D(2025, 1, 1), D(2025, 1, 31), WINDOW)
    assert shown == (D(2025, 10, 3), D(2025, 11, 2))
    assert "no data from 2025-01-01 to 2025-01-31" in note and "2025-10-03 to 2025-11-02" in note
    # Wholly after: the last days; longer than the data: the whole window.
    assert resolve_dates(D(2027, 1, 1), D(2027, 1, 3), WINDOW)[0] == (
        D(2026, 10, 29),
        D(2026, 10, 31),
    )
    assert resolve_dates(D(2020, 1, 1), D(2022, 1, 1), WINDOW)[0] == (WINDOW.first, WINDOW.last)
    # Reaching past an edge: cut.
    shown, note = resolve_dates(D(2026, 10, 20), D(2026, 12, 1), WINDOW)
    assert shown == (D(2026, 10, 20), D(2026, 10, 31)) and "reaches outside" in note
    # In the wrong order: swapped, said.
    shown, note = resolve_dates(D(2026, 10, 20), D(2026, 10, 10), WINDOW)
    assert shown == (D(2026, 10, 10), D(2026, 10, 20)) and "swapped" in note
    # Only a start: the end is the last day of data.
    assert resolve_dates(D(2026, 10, 20), None, WINDOW) == ((D(2026, 10, 20), WINDOW.last), None)


def test_a_date_that_is_not_one_is_named():
    assert parse_date("start", "2026-10-10") == (D(2026, 10, 10), None)
    assert parse_date("start", None) == (None, None)
    value, why = parse_date("end", "yesterday")
    assert value is None and "end='yesterday' is not a date" in why


def test_unknown_filter_values_are_separated_from_the_known():
    assert known_values(["NOPE", "BTCUSDT", "ETHUSDT"], ["BTCUSDT", "ETHUSDT", "SOLUSDT"]) == (
        ["BTCUSDT", "ETHUSDT"],
        ["NOPE"],
    )
    assert known_values([], ["BTCUSDT"]) == ([], [])


def test_every_url_parameter_is_documented():
    from dashboard.state import DATE_PARAMS, LIST_PARAMS

    text = (REPO / "docs" / "dashboard.md").read_text()
    for param in (*DATE_PARAMS, *LIST_PARAMS):
        assert f"`{param}`" in text, f"docs/dashboard.md does not document ?{param}="


def test_date_bounds_start_trading_at_the_first_fill_order_or_fee(con):
    bounds = queries.run(con, "date_bounds").iloc[0]
    first_trading = con.execute(
        "select least((select min(cast(executed_at as date)) from marts.fct_trades), "
        "(select min(cast(placed_at as date)) from marts.fct_orders), "
        "(select min(cast(collected_at as date)) from marts.fct_fee_collections))"
    ).fetchone()[0]
    assert bounds.first_trading_date.date() == first_trading
    assert bounds.first_kpi_date <= bounds.first_trading_date <= bounds.last_kpi_date


# ------------------------------------------------------------------ charts (issue 23 item 3)


def _axes(spec: dict) -> list[dict]:
    """Every x/y encoding of a Vega-Lite spec, in layers and facets too."""
    found = []
    for key, value in spec.items():
        if key == "encoding":
            found += [value[c] for c in ("x", "y") if c in value]
        elif isinstance(value, dict):
            found += _axes(value)
        elif isinstance(value, list):
            found += [a for v in value if isinstance(v, dict) for a in _axes(v)]
    return found


def test_rates_are_percentages_on_an_axis_fitted_to_the_data_with_a_dashed_target():
    days = pd.date_range("2026-10-01", periods=3)
    frame = pd.DataFrame({"d": days, "rate": [0.946, 0.948, 0.947], "target": [0.95] * 3})
    spec = charts.rate_against_target(
        frame, "d", {"Fill rate": ("rate", "target")}, "Fill rate (%)"
    ).to_dict()
    y = next(a for a in _axes(spec) if a.get("field") == "value")
    assert y["title"] == "Fill rate (%)" and y["axis"]["format"] == charts.PCT
    low, high = y["scale"]["domain"]
    assert 0.9 < low < 0.946 and 0.95 < high < 1  # 94.8% against 95% is not a flat line
    assert spec["encoding"]["strokeDash"]["scale"]["domain"] == ["actual", "target"]
    assert set(spec["datasets"][spec["data"]["name"]][0]) >= {"measure", "kind", "value"}


def test_a_rate_axis_stays_within_0_and_100_percent():
    frame = pd.DataFrame({"d": pd.date_range("2026-10-01", periods=2), "rate": [0.0, 0.0]})
    spec = charts.rate_against_target(frame, "d", {"Churn rate": ("rate", None)}, "Churn (%)")
    y = next(a for a in _axes(spec.to_dict()) if a.get("field") == "value")
    assert y["scale"]["domain"][0] == 0.0 and 0 < y["scale"]["domain"][1] <= 1
    assert spec.to_dict()["encoding"]["strokeDash"]["legend"] is None  # no target, no key


def test_pairs_beyond_the_top_five_are_others():
    frame = pd.DataFrame(
        {"day": ["2026-10-01"] * 7, "symbol": list("ABCDEFG"), "usd": [7, 6, 5, 4, 3, 2, 1]}
    )
    assert charts.top_n_with_others(frame, "symbol", "usd", 5).tolist() == [
        "A",
        "B",
        "C",
        "D",
        "E",
        "Others",
        "Others",
    ]


def test_chart_axes_have_titles_and_formats():
    frame = pd.DataFrame(
        {"d": pd.date_range("2026-10-01", periods=2), "s": ["A", "B"], "v": [1.0, 2.0]}
    )
    specs = [
        charts.daily(frame, "d", "v", "Trading volume (USD)", charts.USD, charts.USD_AXIS),
        charts.small_multiples(frame, "d", "v", "s", "Spread (bps)", charts.BPS),
        charts.ranked_bars(frame, "s", "v", "Depth within 1% (USD)"),
        charts.share_by_day(frame, "d", "s", "v"),
    ]
    for chart in specs:
        for axis in _axes(chart.to_dict()):
            assert axis.get("title") and "_" not in axis["title"], axis
