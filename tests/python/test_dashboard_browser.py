"""The dashboard in a real browser: `streamlit run dashboard/app.py` against the session's tiny
warehouse (read-only) on a free port, every page loaded in Debian's headless chromium through
selenium and /usr/bin/chromedriver.

Each page must render its title and figures equal to the marts' own numbers (recomputed here
with plain SQL on the warehouse, not with dashboard/queries.py), with no Streamlit exception,
error, warning or "page not found" dialog. Filters given in the URL must filter, and a filter
changed on the page must be written to the URL; an unknown pair, tier, severity or rule and
dates outside the data must be named on the page (issue 23 item 2). Every chart axis has a
human title with its unit (item 3). A writer's lock shows the clear message, and the page
recovers once the writer is gone.

Without chromium the tests are skipped with the reason (`make browser` installs it), except
under CI=true, where that is a failure.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import subprocess
import sys
import time
import urllib.parse

import duckdb
import pytest
from selenium.webdriver.common.by import By

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
    """The dashboard's default dates: the first trading day to the last day of data."""
    return sql(
        "select min(date_day) filter (where has_trading_started), max(date_day) "
        "from marts.dim_dates"
    )


def url_params(driver) -> dict[str, list[str]]:
    return urllib.parse.parse_qs(urllib.parse.urlparse(driver.current_url).query)


def wait_for_url(driver, wanted, timeout: float = 20.0) -> dict[str, list[str]]:
    """The URL's parameters once `wanted(params)` holds (the app writes them after its run)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        params = url_params(driver)
        if wanted(params):
            return params
        time.sleep(0.2)
    raise AssertionError(f"the URL never matched: {driver.current_url}")


# Every axis of every chart: Vega's accessible label names the title and the scale's values.
_AXES = """
return Array.from(document.querySelectorAll('[aria-roledescription="axis"]'))
    .map(e => e.getAttribute('aria-label'));
"""


def axes(driver, count: int, timeout: float = 20.0) -> list[str]:
    """The axis labels once at least `count` axes are drawn (charts draw after the run)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = driver.execute_script(_AXES)
        if len(found) >= count:
            return found
        time.sleep(0.3)
    raise AssertionError(f"fewer than {count} chart axes drawn: {driver.execute_script(_AXES)}")


def axis_title(label: str) -> str:
    """The axis title in Vega's label ("X-axis titled 'Date (UTC)' for a time scale..."), or ""."""
    return label.split("titled '", 1)[1].split("' for ", 1)[0] if "titled '" in label else ""


def test_root_opens_the_executive_page(driver, server):
    page = open_page(driver, server.url(), PAGES_BY_PATH["executive"].title)
    assert not (page.exceptions or page.errors), page.exceptions + page.errors
    assert driver.current_url.rstrip("/").endswith("/executive")


def test_executive_kpis_against_targets(driver, server, sql):
    page = load(driver, server, "executive")
    revenue, volume, dau, placed, executed, fees, fills, target = sql(
        "select sum(revenue_usd), sum(trading_volume_usd), avg(active_traders), "
        "sum(orders_placed), sum(orders_executed), sum(trading_fee_revenue_usd), "
        "sum(trade_count), sum(revenue_usd_target) from marts.fct_daily_exchange_kpis "
        "where kpi_date between ? and ?",
        list(window(sql)),
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
    # The tier filter from the URL (an unknown tier is named: see the test further down).
    tier, low = sql(
        "select tier_name, count(*) filter (where churn_risk_level = 'low') "
        "from marts.fct_user_churn_risk group by tier_name order by 2 limit 1"
    )
    assert count(low) != page.metrics["Low risk users"]  # so the filter has something to remove
    page = load(driver, server, "churn", f"?tier={tier}")
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


# ------------------------------------------------------------------ issue 23 item 2: URL state


def test_default_dates_start_at_the_first_trading_day(driver, server, sql):
    first_registration = sql("select min(kpi_date) from marts.fct_daily_exchange_kpis")[0]
    first_trading, last = window(sql)
    assert first_registration < first_trading  # registrations before trading, as simulated
    page = load(driver, server, "executive")
    text = driver.find_element(By.TAG_NAME, "body").text
    assert f"{first_trading} to {last} (UTC days, from the first trading day" in text
    assert f"the days from {first_registration} hold registrations only" in text
    assert url_params(driver) == {}  # the default view needs no parameter
    new = sql(
        "select sum(new_registrations) from marts.fct_daily_exchange_kpis where kpi_date >= ?",
        [first_trading],
    )[0]
    assert page.metrics["New registrations"] == count(new)
    # An explicit link reaches back to the first registration day, without a message.
    page = open_page(
        driver,
        server.url(f"executive?start={first_registration}&end={first_trading}"),
        PAGES_BY_PATH["executive"].title,
    )
    assert not (page.errors or page.exceptions), page.errors + page.exceptions
    before = sql(
        "select sum(new_registrations) from marts.fct_daily_exchange_kpis where kpi_date <= ?",
        [first_trading],
    )[0]
    assert page.metrics["New registrations"] == count(before)


def test_dates_outside_the_data_are_named_and_the_nearest_shown(driver, server, sql):
    first = sql("select min(kpi_date) from marts.fct_daily_exchange_kpis")[0]
    _, last = window(sql)
    # Wholly before the data: the same number of days (31) from the first day of data.
    start, end = first - dt.timedelta(days=400), first - dt.timedelta(days=370)
    page = open_page(driver, server.url(f"executive?start={start}&end={end}"), "Executive KPIs")
    assert not page.exceptions, page.exceptions
    shown_end = first + dt.timedelta(days=30)
    assert any(
        f"no data from {start} to {end}" in e and f"{first} to {shown_end}" in e
        for e in page.errors
    ), page.errors
    assert url_params(driver) == {"start": [str(first)], "end": [str(shown_end)]}
    # Reaching past the end: cut to the data, said so.
    start = last - dt.timedelta(days=3)
    page = open_page(
        driver,
        server.url(f"executive?start={start}&end={last + dt.timedelta(days=30)}"),
        "Executive KPIs",
    )
    assert any(f"this shows {start} to {last}" in e for e in page.errors), page.errors
    volume = sql(
        "select sum(trading_volume_usd) from marts.fct_daily_exchange_kpis where kpi_date >= ?",
        [start],
    )[0]
    assert page.metrics["Trading volume"] == usd(volume)  # the cut range's figures
    assert url_params(driver) == {"start": [str(start)], "end": [str(last)]}
    # Not a date at all: named, and the default dates take its place.
    page = open_page(driver, server.url("executive?start=yesterday"), "Executive KPIs")
    assert any("start='yesterday' is not a date" in e for e in page.errors), page.errors


def test_unknown_filter_values_are_named_and_the_rest_kept(driver, server, sql):
    symbol, volume = sql(
        "select symbol, sum(trading_volume_usd) from marts.fct_pair_liquidity_daily "
        "where date_day between ? and ? group by symbol order by 2 desc limit 1",
        list(window(sql)),
    )
    page = open_page(driver, server.url(f"liquidity?pair=NOPE&pair={symbol}"), "Market liquidity")
    assert not page.exceptions, page.exceptions
    assert any(
        "Unknown pair in the link: 'NOPE'" in e and f"Showing {symbol}" in e for e in page.errors
    ), page.errors
    assert page.metrics["Volume (USD)"] == usd(volume)
    assert url_params(driver) == {"pair": [symbol]}  # the link now says what is shown

    page = open_page(driver, server.url("churn?tier=no-such-tier"), "Churn risk")
    assert any(
        "Unknown tier in the link: 'no-such-tier'" in e and "every tier" in e for e in page.errors
    ), page.errors
    page = open_page(
        driver, server.url("compliance?severity=catastrophic&rule=nope"), "Compliance alerts"
    )
    errors = " ".join(page.errors)
    assert "Unknown severity in the link: 'catastrophic'" in errors, page.errors
    assert "Unknown rule in the link: 'nope'" in errors, page.errors
    assert url_params(driver) == {}


def test_changing_a_filter_writes_the_url(driver, server, sql):
    first, last = window(sql)
    load(driver, server, "liquidity")
    symbol = sql("select min(symbol) from marts.fct_pair_liquidity_daily")[0]
    box = driver.find_element(
        By.CSS_SELECTOR, '[data-testid="stSidebar"] [data-testid="stMultiSelect"] input'
    )
    box.click()
    box.send_keys(symbol + "\n")
    assert wait_for_url(driver, lambda p: p.get("pair") == [symbol])
    # The start day of the date range, typed into its day segment.
    day = driver.find_element(
        By.CSS_SELECTOR, '[data-testid="stDateInput"] [aria-label="day, Dates (UTC) start date"]'
    )
    start = first + dt.timedelta(days=1)
    day.click()
    day.send_keys(f"{start.day:02d}")
    driver.find_element(By.TAG_NAME, "h1").click()  # leave the field: the value is committed
    params = wait_for_url(driver, lambda p: "start" in p)
    assert params == {"start": [str(start)], "end": [str(last)], "pair": [symbol]}
    # The link opens the same view in a new session.
    volume = sql(
        "select sum(trading_volume_usd) from marts.fct_pair_liquidity_daily "
        "where symbol = ? and date_day between ? and ?",
        [symbol, start, last],
    )[0]
    page = load(driver, server, "liquidity", "?" + urllib.parse.urlencode(params, doseq=True))
    assert page.metrics["Volume (USD)"] == usd(volume)


# ------------------------------------------------------------------ issue 23 item 3: charts


def test_every_chart_axis_has_a_human_title_with_its_unit(driver, server):
    expected = {
        "executive": {
            "Revenue (USD)",
            "Active traders",
            "Trading volume (USD)",
            "Fill rate (%)",
            "Date (UTC)",
        },
        "revenue": {"Month", "Revenue (USD)", "Tier", "Share of the month's revenue (%)"},
        "funnel": {"Registration month", "Users", "First-trade day (UTC)", "Retention (%)"},
        "churn": {"Tier", "Users", "Churn rate (%)"},
        "compliance": {"Alerts (count)", "Date (UTC)"},
        "liquidity": {
            "Depth within 1% (USD)",
            "Trading volume (USD)",
            "Share of volume (%)",
            "Spread (bps)",
            "Close (first day = 100)",
            "Pair",
        },
    }
    for path, titles in expected.items():
        load(driver, server, path)
        labels = axes(driver, len(titles))
        found = {axis_title(label) for label in labels}
        assert titles <= found, (path, found)
        # No column name (kpi_date, trading_volume_usd) is left as a title, no axis untitled.
        assert not [t for t in found if "_" in t], (path, found)
        assert "" not in found, (path, labels)


def test_percentages_are_scaled_to_the_data_with_the_target_drawn(driver, server, sql):
    load(driver, server, "executive")
    label = next(x for x in axes(driver, 8) if "titled 'Fill rate (%)'" in x)
    # "... for a linear scale with values from 94.6% to 95.0%": not a 0-100% axis.
    low, high = (float(v.rstrip("%")) for v in label.split("values from ")[1].split(" to "))
    fill_rate, target = sql(
        "select min(fill_rate), max(fill_rate_target) from marts.fct_daily_exchange_kpis "
        "where kpi_date between ? and ?",
        list(window(sql)),
    )
    assert low > 50 and low <= fill_rate * 100 and high >= target * 100, label
    legends = driver.execute_script(
        "return Array.from(document.querySelectorAll('[aria-roledescription=\"legend\"]'))"
        ".map(e => e.getAttribute('aria-label'))"
    )
    assert any("actual, target" in x for x in legends), legends


def test_every_pair_can_be_told_apart(driver, server, sql):
    pairs = sql("select count(distinct symbol) from marts.fct_pair_liquidity_daily")[0]
    load(driver, server, "liquidity")
    axes(driver, 6)
    legends = driver.execute_script(
        "return Array.from(document.querySelectorAll('[aria-roledescription=\"legend\"]'))"
        ".map(e => e.getAttribute('aria-label'))"
    )
    share = next(x for x in legends if "titled 'Pair'" in x)
    # The top five pairs and "Others" when there are more than five; else every pair.
    assert f"with {min(pairs, 5) + (pairs > 5)} values" in share, share
    if pairs > 5:
        assert "Others" in share
