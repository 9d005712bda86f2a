"""Revenue forecast (predictive/revenue_forecast.py): on a synthetic daily revenue series with a
known trend and weekly seasonality the ETS model beats both naive baselines out of sample and its
80% interval covers held-out totals at roughly the nominal rate; too short a history gives NULL
forecasts and says so; the mart is written on the tiny warehouse."""

from __future__ import annotations

import datetime as dt
import shutil
import sys

import duckdb
import numpy as np
import pandas as pd
import pytest

from predictive import revenue_forecast as rf

from .conftest import run


def synthetic_daily(days: int, seed: int = 3) -> np.ndarray:
    t = np.arange(days)
    rng = np.random.default_rng(seed)
    weekly = np.array([1.25, 1.1, 1.0, 0.95, 0.9, 0.75, 0.7])
    return (10_000 + 40 * t) * weekly[t % 7] + rng.normal(0, 300, days)


def test_forecast_beats_naive_baselines_and_interval_covers():
    values = synthetic_daily(120)
    result = rf.evaluate_series(values, 30, 7, 28, 7)
    assert result.status == "forecast" and result.origins >= 8
    assert result.mae_model < result.mae_last_period
    assert result.mae_model < result.mae_seasonal_naive
    assert 0 < result.mape_model < result.mape_seasonal_naive
    # An 80% interval: held-out totals mostly inside, not all by accident of a huge width.
    assert 0.6 <= result.interval_coverage <= 1.0
    assert result.lower < result.forecast < result.upper
    expected_next = float(
        (
            (10_000 + 40 * np.arange(120, 150))
            * np.resize([1.25, 1.1, 1.0, 0.95, 0.9, 0.75, 0.7], 150)[120:150]
        ).sum()
    )
    assert abs(result.forecast - expected_next) / expected_next < 0.05


def test_seasonal_naive_repeats_the_last_cycle():
    history = np.array([1.0, 2, 3, 4, 5, 6, 7, 8, 9])
    assert rf.seasonal_naive_total(history, 9, 7) == pytest.approx(
        3 + 4 + 5 + 6 + 7 + 8 + 9 + 3 + 4
    )
    assert rf.seasonal_naive_total(history[:5], 9, 7) is None


def test_insufficient_history_gives_null_forecasts_and_says_why():
    result = rf.evaluate_series(synthetic_daily(30), 30, 7, 28, 7)
    assert result.status == "insufficient_history"
    assert result.note == "insufficient history (30 days, need 65)"
    assert result.forecast is None and result.mae_model is None

    start = dt.date(2026, 10, 2)
    daily = pd.DataFrame(
        {
            "kpi_date": [start + dt.timedelta(days=i) for i in range(30)],
            "revenue_usd": synthetic_daily(30),
        }
    )
    frame = rf.build_forecasts(daily, dt.datetime(2026, 11, 1))
    assert set(frame["forecast_kind"]) == {"next_30_days", "next_month"}
    assert (frame["status"] == "insufficient_history").all()
    assert frame["forecast_revenue_usd"].isna().all()
    monthly = frame.set_index("forecast_kind").loc["next_month"]
    # October 2026 from the 2nd is not a complete month: no month of history.
    assert monthly["note"] == "insufficient history (0 complete months, need 9)"
    assert monthly["period_start_date"] == dt.date(2026, 11, 1)
    assert monthly["period_end_date"] == dt.date(2026, 11, 30)


def test_complete_months_drop_partial_months():
    days = pd.date_range("2026-01-15", "2026-04-10", freq="D").date
    daily = pd.DataFrame({"kpi_date": days, "revenue_usd": 1.0})
    months = rf.complete_months(daily)
    assert months["month_start_date"].tolist() == [dt.date(2026, 2, 1), dt.date(2026, 3, 1)]
    assert months["revenue_usd"].tolist() == [28.0, 31.0]


def _revenue_page() -> None:
    # Run by Streamlit's AppTest: imports inside, no closure.
    import datetime as dt

    from dashboard import views

    views.revenue(views.Filters(dt.date(2000, 1, 1), dt.date(2100, 1, 1)))


def test_forecast_mart_on_the_tiny_warehouse(tiny_warehouse, tmp_path, monkeypatch):
    path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(tiny_warehouse.warehouse, path)
    out = run(
        [sys.executable, "-m", "predictive", "forecast", "--warehouse", str(path)],
        tiny_warehouse.env,
    )
    assert "insufficient history" in out.stdout
    with duckdb.connect(str(path), read_only=True) as con:
        table = con.execute("select * from marts.fct_revenue_forecast").df()
        last = con.execute("select max(kpi_date) from marts.fct_daily_exchange_kpis").fetchone()[0]
    assert len(table) == 2 and table["forecast_kind"].is_unique
    assert (table["status"] == "insufficient_history").all()
    assert table["forecast_revenue_usd"].isna().all()
    assert (pd.to_datetime(table["as_of_date"]).dt.date == last).all()
    # The revenue page shows the insights and says why there is no forecast.
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("EXCHANGE_WAREHOUSE", str(path))
    page = AppTest.from_function(_revenue_page, default_timeout=120).run()
    assert not page.exception
    subheaders = [s.value for s in page.subheader]
    for title in ["Effective fee rate by tier", "Users near a tier boundary", "Revenue forecast"]:
        assert title in subheaders
    notes = [str(m.delta) for m in page.metric if m.value == "n/a"]
    assert any("insufficient history" in note for note in notes), notes
