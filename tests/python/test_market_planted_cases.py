"""Market marts against the simulator's planted market cases (tiny scale, `dbt build`).

The simulator labels in `_simulator/planted_cases.csv` the market faults it plants: engine
candles that disagree with the fills (`candle_mismatch`), crossed and one-sided order books
(`crossed_book`, `missing_book_side`) and external prices far from the exchange
(`external_price_deviation`). The warn-severity dbt tests
`assert_fill_candles_reconcile_with_market_data` and
`assert_external_price_deviations_within_threshold` report rows of the marts below; these tests
show that what is reported is exactly what was planted, no more and no less.
"""

from __future__ import annotations

import csv
import datetime as dt

import duckdb
import pytest


@pytest.fixture(scope="module")
def planted(tiny_warehouse) -> dict[str, list[dict]]:
    path = tiny_warehouse.landing / "_simulator" / "planted_cases.csv"
    by_rule: dict[str, list[dict]] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["kind"] == "market":
                by_rule.setdefault(row["rule"], []).append(row)
    return by_rule


@pytest.fixture(scope="module")
def con(tiny_warehouse):
    connection = duckdb.connect(str(tiny_warehouse.warehouse), read_only=True)
    yield connection
    connection.close()


def iso(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", ""))


def test_every_market_case_is_planted(planted):
    assert {rule: len(cases) for rule, cases in planted.items()} == {
        "candle_mismatch": 3,
        "crossed_book": 2,
        "missing_book_side": 2,
        "external_price_deviation": 3,
    }


def test_candle_discrepancies_are_exactly_the_planted_mismatches(planted, con):
    expected = {}
    for case in planted["candle_mismatch"]:
        pair_id, hour = case["reference_ids"].split("@")
        column = case["description"].split(" ")[0]  # volume, trade_count or high_price
        kind = "price" if column.endswith("_price") else column
        expected[(int(pair_id), iso(hour))] = kind
    reported = {
        (pair_id, hour): kind
        for pair_id, hour, kind in con.execute(
            "SELECT pair_id, candle_hour, discrepancy_type "
            "FROM marts.fct_candle_reconciliation_hourly WHERE NOT is_within_tolerance"
        ).fetchall()
    }
    assert reported == expected
    # Everything else agrees to the last digit, not merely within tolerance.
    off = con.execute(
        "SELECT count(*) FROM marts.fct_candle_reconciliation_hourly WHERE is_within_tolerance "
        "AND has_fill_candle AND (max_abs_price_diff_bps <> 0 OR volume_diff <> 0 "
        "OR trade_count_diff <> 0)"
    ).fetchone()[0]
    assert off == 0


def test_deviation_alerts_are_exactly_the_planted_external_prices(planted, con):
    expected = set()
    for case in planted["external_price_deviation"]:
        source, asset, observed_at = case["reference_ids"].split("|")
        expected.add((source, asset, iso(observed_at)))
    alerts = con.execute(
        "SELECT source, base_asset, external_observed_at, symbol, deviation_bps, mid_deviation_bps "
        "FROM marts.fct_external_price_deviations_hourly WHERE is_deviation_alert"
    ).fetchall()
    assert {(a[0], a[1], a[2]) for a in alerts} == expected
    # A planted price is 5 to 7% off: every pair of the asset sees it in its book.
    assert all(abs(a[5]) > 400 for a in alerts)


def test_crossed_and_one_sided_books_are_flagged(planted, con):
    crossed = {c["reference_ids"] for c in planted["crossed_book"]}
    one_sided = {c["reference_ids"] for c in planted["missing_book_side"]}
    rows = con.execute(
        "SELECT snapshot_id, is_crossed, is_two_sided, spread_bps "
        "FROM intermediate.int_order_book_snapshots_measured "
        "WHERE is_crossed OR NOT is_two_sided"
    ).fetchall()
    assert {r[0] for r in rows if r[1]} == crossed
    assert all(r[3] <= 0 for r in rows if r[1])
    assert {r[0] for r in rows if not r[2]} == one_sided
    assert all(r[3] is None for r in rows if not r[2])
    # The daily mart counts them and keeps them out of the spread statistics.
    counted = con.execute(
        "SELECT sum(crossed_snapshot_count), sum(snapshot_count - two_sided_snapshot_count), "
        "min(avg_spread_bps), min(p95_spread_bps) FROM marts.fct_pair_liquidity_daily"
    ).fetchone()
    assert counted[0] == len(crossed) and counted[1] == len(one_sided)
    assert counted[2] > 0 and counted[3] > 0


def test_candle_invariants_and_volume_hold(con):
    broken = con.execute(
        "SELECT count(*) FROM marts.fct_pair_candles_hourly WHERE NOT (low_price <= "
        "least(open_price, close_price) AND greatest(open_price, close_price) <= high_price "
        "AND low_price > 0 AND volume >= 0)"
    ).fetchone()[0]
    assert broken == 0
    hourly, daily, taker = con.execute(
        "SELECT (SELECT cast(sum(volume_usd) AS DOUBLE) FROM marts.fct_pair_candles_hourly), "
        "(SELECT cast(sum(volume_usd) AS DOUBLE) FROM marts.fct_pair_candles_daily), "
        "(SELECT sum(notional_usd) FROM intermediate.int_trades_valued WHERE NOT is_maker)"
    ).fetchone()
    assert hourly == pytest.approx(taker) and daily == pytest.approx(taker)
