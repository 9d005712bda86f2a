"""The daily executive report (orchestration/executive_report.py, docs/report.md), written from
the session's tiny warehouse by its command line and read in Debian's headless chromium: the
figures shown must equal the marts' own numbers, recomputed here with plain SQL.

Without chromium the browser test is skipped with the reason (`make browser` installs it),
except under CI=true, where that is a failure. The other tests need no browser.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import subprocess
import sys

import duckdb
import pytest
from selenium.webdriver.common.by import By

from dashboard.browser import chromium, missing_browser
from orchestration import executive_report as er

from .conftest import REPO, _running_under_ci


def usd(x) -> str:
    return f"${float(x):,.0f}"


def count(x) -> str:
    return f"{float(x):,.0f}"


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def warehouse(tiny_warehouse):
    """The tiny warehouse, and a check that the report left it byte for byte as it was."""
    before = _digest(tiny_warehouse.warehouse)
    yield tiny_warehouse.warehouse
    assert _digest(tiny_warehouse.warehouse) == before, "the report wrote to the warehouse"


def sql(warehouse, statement: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(statement, params or []).fetchall()


def write(warehouse, out, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestration.executive_report",
            "--warehouse",
            str(warehouse),
            "--out",
            str(out),
            *extra,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def alert_day(warehouse) -> dt.date:
    """The day within the KPIs with the most compliance alerts (the rule table is not empty)."""
    return sql(
        warehouse,
        "select a.detected_date from marts.fct_compliance_alerts as a "
        "join marts.fct_daily_exchange_kpis as k on a.detected_date = k.kpi_date "
        "group by 1 order by count(*) desc, 1 limit 1",
    )[0][0]


@pytest.fixture(scope="module")
def reports(warehouse, alert_day, tmp_path_factory):
    """The report of the last day and of the alert day, written by the command line."""
    out = tmp_path_factory.mktemp("reports")
    latest = write(warehouse, out)
    assert latest.returncode == 0, latest.stderr
    dated = write(warehouse, out, "--date", alert_day.isoformat())
    assert dated.returncode == 0, dated.stderr
    return out


def test_one_file_per_day_self_contained(warehouse, reports, alert_day):
    last_day = sql(warehouse, "select max(kpi_date) from marts.fct_daily_exchange_kpis")[0][0]
    names = {p.name for p in reports.iterdir()}
    assert names == {f"exec_report_{last_day}.html", f"exec_report_{alert_day}.html"}
    document = (reports / f"exec_report_{last_day}.html").read_text()
    assert f"<h1>Executive report: {last_day}</h1>" in document
    # Opens offline: no script and nothing fetched from anywhere.
    assert "<script" not in document.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", document, re.I)
    assert document.count("<svg") >= 6


def test_a_day_outside_the_data_is_refused(warehouse, tmp_path):
    first, last = sql(
        warehouse, "select min(kpi_date), max(kpi_date) from marts.fct_daily_exchange_kpis"
    )[0]
    result = write(warehouse, tmp_path, "--date", (last + dt.timedelta(days=1)).isoformat())
    assert result.returncode == 2
    assert f"holds {first} to {last}" in result.stderr
    assert not list(tmp_path.iterdir()), "nothing is written for a day without data"


def test_a_missing_or_unbuilt_warehouse_is_refused(tmp_path):
    result = write(tmp_path / "nowhere.duckdb", tmp_path / "out")
    assert result.returncode == 2 and "no warehouse file" in result.stderr
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    result = write(empty, tmp_path / "out")
    assert result.returncode == 2 and "is not built" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_bad_date_argument_is_refused(warehouse, tmp_path):
    result = write(warehouse, tmp_path, "--date", "2026-13-45")
    assert result.returncode == 2 and "--date" in result.stderr


def test_moves_are_against_the_trailing_week(warehouse, alert_day):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        data = er.collect(con, alert_day)
    rows = sql(
        warehouse,
        "select avg(revenue_usd), count(*) from marts.fct_daily_exchange_kpis "
        "where kpi_date >= ? - 7 and kpi_date < ?",
        [alert_day, alert_day],
    )[0]
    assert data.trailing_days == rows[1]
    if rows[1]:
        assert data.trailing["revenue_usd"] == pytest.approx(float(rows[0]))
    sentences = er.moves(data)
    assert 1 <= len(sentences) <= er.MOVES_SHOWN
    if rows[1]:
        assert all(" against " in s and re.search(r"(rose|fell|held)", s) for s in sentences)


def test_line_chart_of_one_day_and_missing_values():
    day = dt.date(2026, 1, 1)
    one = er.line_chart("t", "USD", [day], [5.0], er.usd, er.compact_usd)
    assert one.count("<circle") == 1
    gaps = er.line_chart(
        "t",
        "USD",
        [day + dt.timedelta(days=i) for i in range(4)],
        [1.0, None, 3.0, 4.0],
        er.usd,
        er.compact_usd,
    )
    assert gaps.count("<circle") == 3
    assert "no values" in er.line_chart("t", "USD", [day], [None], er.usd, er.compact_usd)


@pytest.fixture(scope="module")
def driver():
    reason = missing_browser()
    if reason:
        if _running_under_ci():
            pytest.fail(f"{reason}. CI=true: the report browser test must run in CI.")
        pytest.skip(reason)
    with chromium() as driver:
        yield driver


def open_report(driver, path):
    driver.get(path.resolve().as_uri())
    assert driver.find_element(By.TAG_NAME, "h1").text.startswith("Executive report")
    return driver


def cell(driver, row_id: str, css: str) -> str:
    return driver.find_element(By.CSS_SELECTOR, f"#{row_id} {css}").text.strip()


def test_the_browser_shows_the_marts_figures(driver, warehouse, reports, alert_day):
    page = open_report(driver, reports / f"exec_report_{alert_day}.html")
    volume, revenue, dau, volume_target = sql(
        warehouse,
        "select trading_volume_usd, revenue_usd, active_traders, trading_volume_usd_target "
        "from marts.fct_daily_exchange_kpis where kpi_date = ?",
        [alert_day],
    )[0]
    assert cell(page, "kpi-trading_volume_usd", ".value") == usd(volume)
    assert cell(page, "kpi-trading_volume_usd", ".target") == usd(volume_target)
    assert cell(page, "kpi-revenue_usd", ".value") == usd(revenue)
    assert cell(page, "kpi-active_traders", ".value") == count(dau)

    # Alerts per rule on the day.
    expected = dict(
        sql(
            warehouse,
            "select rule_name, count(*) from marts.fct_compliance_alerts "
            "where detected_date = ? group by rule_name",
            [alert_day],
        )
    )
    assert expected, "the alert day has alerts"
    shown = {
        row.get_attribute("data-rule"): row.find_element(By.CSS_SELECTOR, ".alerts").text
        for row in page.find_elements(By.CSS_SELECTOR, "#alerts-by-rule tbody tr")
    }
    assert shown == {rule: count(n) for rule, n in expected.items()}
    total = sum(expected.values())
    assert f"{total:,} compliance alert" in page.find_element(By.ID, "alerts").text
    bars = page.find_elements(By.CSS_SELECTOR, "#chart-alerts rect")
    assert len(bars) == len(expected)

    # One sentence per anomaly of the day.
    anomalies = sql(
        warehouse,
        "select count(*) from marts.fct_kpi_anomalies where kpi_date = ? and is_anomaly",
        [alert_day],
    )[0][0]
    sentences = page.find_elements(By.CSS_SELECTOR, "#anomalies li")
    assert len(sentences) == max(anomalies, 1)

    # Next-best actions by action.
    actions = dict(
        sql(warehouse, "select action, count(*) from marts.fct_next_best_actions group by 1")
    )
    shown = {
        row.get_attribute("data-action"): row.find_element(By.CSS_SELECTOR, ".users").text
        for row in page.find_elements(By.CSS_SELECTOR, "#actions tbody tr")
    }
    assert len(shown) == min(len(actions), er.ACTIONS_SHOWN)
    for action, users in shown.items():
        assert users == count(actions[action])

    # The volume chart: one point per day of the window, and it is drawn (has a size).
    days = sql(
        warehouse,
        "select count(trading_volume_usd) from marts.fct_daily_exchange_kpis "
        "where kpi_date <= ? and kpi_date > ?",
        [alert_day, alert_day - dt.timedelta(days=er.CHART_DAYS)],
    )[0][0]
    chart = page.find_element(By.ID, "chart-trading_volume_usd")
    assert len(chart.find_elements(By.TAG_NAME, "circle")) == days
    assert chart.size["width"] > 300 and chart.size["height"] > 100
    # The data-quality scorecard is the mart's latest run.
    passed, run = sql(
        warehouse,
        "select tests_passed, tests_run from marts.fct_data_quality_scorecard "
        "order by run_started_at desc limit 1",
    )[0]
    assert f"{passed:,} of {run:,} tests passed" in page.find_element(By.ID, "scorecard").text


def test_the_daily_job_asset_writes_the_html_beside_the_markdown(warehouse, tmp_path, monkeypatch):
    """ops/daily_report, materialised on a copy of the tiny warehouse, writes both reports of
    the last day and links the HTML in its metadata."""
    import shutil

    import dagster as dg

    from orchestration.assets.report import daily_report
    from orchestration.resources import WarehouseResource

    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(warehouse, copy)
    out = tmp_path / "reports"
    monkeypatch.setenv("EXCHANGE_REPORT_DIR", str(out))
    result = dg.materialize(
        [daily_report],
        resources={"warehouse": WarehouseResource(path=str(copy), lock_timeout_seconds=5)},
    )
    assert result.success
    last_day = sql(copy, "select max(kpi_date) from marts.fct_daily_exchange_kpis")[0][0]
    html_path = out / f"exec_report_{last_day}.html"
    assert (out / f"daily_report_{last_day}.md").exists() and html_path.exists()
    [event] = result.get_asset_materialization_events()
    assert event.materialization.metadata["executive_report"].path == str(html_path)
    assert f"Executive report: {last_day}" in html_path.read_text()


def test_the_churn_section_shows_the_backtest_and_its_verdict(warehouse, tmp_path):
    """After `make score` (the evaluation table written), the report shows each scorer's
    top decile and says whether the chosen model beats the recency rule."""
    import shutil

    from predictive import churn_model

    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        evaluation = churn_model.evaluate(con)
        churn_model.write_evaluation(con, evaluation)
        document = er.render(er.collect(con))
    model, rule = evaluation.model.roc_auc, evaluation.recency_rule.roc_auc
    for name in evaluation.scorers:
        assert f'data-scorer="{name}"' in document
    if model is not None and rule is not None:
        verb = "beats" if model > rule else "does not beat"
        assert (
            f"The chosen model (model_{evaluation.chosen_model}) {verb} the recency rule"
            in document
        )
        assert f"ROC-AUC {model:.3f} against {rule:.3f}" in document
