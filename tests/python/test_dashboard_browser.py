"""The dashboard in a real browser: `streamlit run dashboard/app.py` against the session's tiny
warehouse (read-only) on a free port, every page loaded in Debian's headless chromium through
selenium and /usr/bin/chromedriver.

Each page must render its title and figures equal to the marts' own numbers (recomputed here
with plain SQL on the warehouse, not with dashboard/queries.py), with no Streamlit exception,
error, warning or "page not found" dialog. Filters given in the URL must filter. A writer's
lock shows the clear message, and the page recovers once the writer is gone.

Without chromium the tests are skipped with the reason (`make browser` installs it), except
under CI=true, where that is a failure.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import subprocess
import sys

import duckdb
import pytest

from dashboard.browser import chromium, missing_browser, open_page, serve
from dashboard.sitemap import PAGES_BY_PATH

from .conftest import _running_under_ci


def usd(x) -> str:
    return f"${x:,.0f}"


def count(x) -> str:
    return f"{x:,.0f}"


def pct(rate) -> str:
    return f"{rate * 100:.1f}%"


@pytest.fixture(scope="module")
def browser_ready() -> None:
    reason = missing_browser()
    if reason:
        if _running_under_ci():
            pytest.fail(
                f"{reason}. CI=true: the dashboard browser test must run in CI.", pytrace=False
            )
        pytest.skip(reason)


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def warehouse(tiny_warehouse):
    """The tiny warehouse, and a check that the dashboard left it byte for byte as it was."""
    before = _digest(tiny_warehouse.warehouse)
    yield tiny_warehouse.warehouse
    assert _digest(tiny_warehouse.warehouse) == before, "the dashboard wrote to the warehouse"


@pytest.fixture(scope="module")
def sql(warehouse):
    """Run one SQL statement on the warehouse (a short read-only connection, as the app)."""

    def run(statement: str, params: list | None = None):
        with duckdb.connect(str(warehouse), read_only=True) as con:
            return con.execute(statement, params or []).fetchone()

    return run


@pytest.fixture(scope="module")
def server(browser_ready, warehouse, tmp_path_factory):
    with serve(warehouse, log_dir=tmp_path_factory.mktemp("dashboard")) as server:
        yield server


@pytest.fixture(scope="module")
def driver(browser_ready):
    with chromium() as driver:
        yield driver


def load(driver, server, path: str, query: str = ""):
    spec = PAGES_BY_PATH[path]
    page = open_page(driver, server.url(path + query), spec.title)
    assert not page.exceptions, f"{path}: Streamlit exception\n{page.exceptions}"
    assert not page.errors, f"{path}: error shown\n{page.errors}\n{server.log_tail()}"
    assert spec.title in page.title, f"{path}: title {page.title}"
    return page


def window(sql) -> tuple[dt.date, dt.date]:
    return sql("select min(kpi_date), max(kpi_date) from marts.fct_daily_exchange_kpis")


def test_root_opens_the_executive_page(driver, server):
    page = open_page(driver, server.url(), PAGES_BY_PATH["executive"].title)
    assert not (page.exceptions or page.errors), page.exceptions + page.errors
    assert driver.current_url.rstrip("/").endswith("/executive")


def test_executive_kpis_against_targets(driver, server, sql):
    page = load(driver, server, "executive")
    revenue, volume, dau, placed, executed, fees, fills, target = sql(
        "select sum(revenue_usd), sum(trading_volume_usd), avg(active_traders), "
        "sum(orders_placed), sum(orders_executed), sum(trading_fee_revenue_usd), "
        "sum(trade_count), sum(revenue_usd_target) from marts.fct_daily_exchange_kpis"
    )
    assert revenue > 0
    assert page.metrics["Revenue"] == usd(revenue)
    assert page.metrics["Trading volume"] == usd(volume)
    assert page.metrics["Average DAU"] == count(dau)
    assert page.metrics["Fill rate"] == pct(executed / placed)
    assert page.metrics["Revenue per trade"] == f"${fees / fills:,.2f}"
    last_dau = sql(
        "select active_traders from marts.fct_daily_exchange_kpis order by kpi_date desc limit 1"
    )[0]
    assert page.metrics["DAU"] == count(last_dau)


def test_revenue_by_tier(driver, server, sql):
    page = load(driver, server, "revenue")
    first, last = window(sql)
    total = sql(
        "select sum(revenue_usd) from marts.rpt_monthly_revenue_by_tier "
        "where month_start_date between date_trunc('month', ?::date) and ?",
        [first, last],
    )[0]
    assert page.metrics["Revenue, months in range"] == usd(total)
    tier, tier_revenue = sql(
        "select tier_name, revenue_usd from marts.rpt_monthly_revenue_by_tier "
        "where month_start_date = (select max(month_start_date) "
        "from marts.rpt_monthly_revenue_by_tier) order by revenue_usd desc limit 1"
    )
    assert page.metrics[f"{tier} revenue"] == usd(tier_revenue)


def test_funnel_and_retention(driver, server, sql):
    page = load(driver, server, "funnel")
    first, last = window(sql)
    registered, kyc = sql(
        "select sum(registered), sum(kyc_approved) from marts.fct_registration_funnel_monthly "
        "where registration_month between date_trunc('month', ?::date) and ?",
        [first, last],
    )
    assert page.metrics["Registered"] == count(registered)
    assert page.metrics["Registration → KYC"] == pct(kyc / registered)
    # First-time traders straight from the fills, not from the cohort mart.
    first_traders = sql(
        "select count(*) from (select user_id, min(cast(executed_at as date)) as d "
        "from marts.fct_trades group by user_id) where d between ? and ?",
        [first, last],
    )[0]
    assert page.metrics["First-time traders"] == count(first_traders)


def test_churn_risk(driver, server, sql):
    page = load(driver, server, "churn")
    for level in ("high", "medium", "low"):
        n = sql(
            "select count(*) from marts.fct_user_churn_risk where churn_risk_level = ?", [level]
        )[0]
        assert page.metrics[f"{level.capitalize()} risk users"] == count(n), level
    # The tier filter from the URL; an unknown tier (a typo in a link) is ignored, not an error.
    tier, low = sql(
        "select tier_name, count(*) filter (where churn_risk_level = 'low') "
        "from marts.fct_user_churn_risk group by tier_name order by 2 limit 1"
    )
    assert count(low) != page.metrics["Low risk users"]  # so the filter has something to remove
    page = load(driver, server, "churn", f"?tier={tier}&tier=no-such-tier")
    assert page.metrics["Low risk users"] == count(low)


def test_compliance_alert_queue(driver, server, sql):
    page = load(driver, server, "compliance")
    first, last = window(sql)
    alerts, pending = sql(
        "select count(*), count(*) filter (where investigation_status = 'pending') "
        "from marts.fct_compliance_alerts where detected_date between ? and ?",
        [first, last],
    )
    assert alerts > 0
    assert page.metrics["Alerts"] == count(alerts)
    assert page.metrics["Pending"] == count(pending)


def test_compliance_filters_from_the_url(driver, server, sql):
    first, last = window(sql)
    severity, status, expected = sql(
        "select severity, investigation_status, count(*) from marts.fct_compliance_alerts "
        "where detected_date between ? and ? group by all order by 3 desc limit 1",
        [first, last],
    )
    everything = sql(
        "select count(*) from marts.fct_compliance_alerts where detected_date between ? and ?",
        [first, last],
    )[0]
    assert expected < everything  # so the filter has something to remove
    page = load(driver, server, "compliance", f"?severity={severity}&status={status}")
    assert page.metrics["Alerts"] == count(expected)


def test_market_liquidity_with_pair_and_date_filters(driver, server, sql):
    page = load(driver, server, "liquidity")
    every = sql("select sum(trading_volume_usd) from marts.fct_pair_liquidity_daily")[0]
    assert page.metrics["Volume (USD)"] == usd(every)
    first, last = window(sql)
    start = first + (last - first) // 2
    symbol, expected = sql(
        "select symbol, sum(trading_volume_usd) from marts.fct_pair_liquidity_daily "
        "where date_day between ? and ? group by symbol order by 2 desc limit 1",
        [start, last],
    )
    page = load(driver, server, "liquidity", f"?pair={symbol}&start={start}&end={last}")
    assert expected < every
    assert page.metrics["Volume (USD)"] == usd(expected)


def _hold_write_lock(path) -> subprocess.Popen:
    """A process that opens the DuckDB file for writing and keeps it; returns once it holds it."""
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
            "print('locked', flush=True); time.sleep(120)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = writer.stdout.readline().strip()
    if line != "locked":
        writer.kill()
        _, err = writer.communicate()
        raise AssertionError(f"could not take the write lock on {path}: {err[-2000:]}")
    return writer


def test_locked_warehouse_shows_a_clear_message_and_recovers(
    browser_ready, driver, warehouse, tmp_path
):
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(warehouse, copy)
    with serve(copy, log_dir=tmp_path) as server:
        writer = _hold_write_lock(copy)
        try:
            spec = PAGES_BY_PATH["executive"]
            page = open_page(driver, server.url("executive"), spec.title)
            assert not page.exceptions, page.exceptions
            assert any("locked by another process" in e for e in page.errors), page.errors
        finally:
            writer.kill()
            writer.wait()
        page = load(driver, server, "executive")
        assert page.metrics["Revenue"].startswith("$")
        # Between page views the dashboard holds no connection: a writer (dbt) gets in.
        writer = _hold_write_lock(copy)
        writer.kill()
        writer.wait()
