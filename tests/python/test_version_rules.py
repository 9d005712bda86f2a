"""The version rule of docs/landing_contract.md#keys-and-versions on its Python side
(ingestion/loaders/versions.py): the function a loader calls when it must pick before it writes, and
the generated dbt macro that staging ranks by. The SQL side is tested through dbt in
test_bad_input_corpus.py."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ingestion.contract import LOAD_ORDER, TABLES
from ingestion.loaders import versions


def test_every_mutable_table_declares_its_rule_and_the_macro_is_current():
    for table in TABLES.values():
        if table.mutable:
            rule = table.version
            assert rule != LOAD_ORDER, f"{table.name}: a mutable table declares its version rule"
            assert rule.timestamps or rule.first_seen, table.name
            for column in (*rule.timestamps, rule.status_column):
                if column:
                    assert column in table.column_names, (table.name, column)
            if rule.status_column:
                enum = set(table.column(rule.status_column).enum)
                ranked = {s for group in rule.precedence for s in group}
                assert ranked == enum, f"{table.name}: precedence ranks every status"
    assert versions.MACRO_PATH.read_text() == versions.macro_text(), (
        "macros/version_rules.sql is stale: run .venv/bin/python -m ingestion.loaders.versions"
    )


def _ticket(status, resolved=None, **extra):
    return {
        "ticket_id": "T1",
        "user_id": "U1",
        "status": status,
        "created_at": dt.datetime(2026, 1, 1),
        "resolved_at": resolved,
        **extra,
    }


def test_keep_latest_decides_by_the_row_never_by_load_order():
    solved = _ticket("solved", dt.datetime(2026, 1, 2))
    rows = [_ticket("open"), solved, _ticket("pending"), _ticket("open")]  # old ones re-sent
    kept, conflicts = versions.keep_latest(rows, "support_tickets")
    assert kept == [solved] and conflicts == []
    # same version timestamp: pending outranks open, whatever the order
    kept, _ = versions.keep_latest([_ticket("pending"), _ticket("open")], "support_tickets")
    assert kept[0]["status"] == "pending"


def test_keep_latest_reports_a_conflict_and_keeps_the_later_row():
    first = {"source": "coingecko", "asset": "BTC", "observed_at": dt.datetime(2026, 1, 1)}
    rows = [
        {**first, "price_usd": Decimal("100")},
        {**first, "price_usd": Decimal("100")},  # a replay: no conflict by itself
        {**first, "price_usd": Decimal("101")},
    ]
    kept, conflicts = versions.keep_latest(rows, "external_prices", source="https://api")
    assert kept == [rows[2]]
    (conflict,) = conflicts
    assert conflict.table == "external_prices"
    assert conflict.key == ("coingecko", "BTC", dt.datetime(2026, 1, 1))
    assert conflict.differing_columns == ("price_usd",)
    assert conflict.sources == ("https://api",) * 3 and conflict.kept is rows[2]
    kept, conflicts = versions.keep_latest(rows[:2], "external_prices")
    assert kept == [rows[1]] and conflicts == []


def test_keep_latest_first_seen_ignores_a_replayed_old_row():
    old = {"id": 1, "tier_name": "Basic", "trading_fee_rate": Decimal("0.0010")}
    new = {**old, "trading_fee_rate": Decimal("0.0008")}
    kept, conflicts = versions.keep_latest([old, new, dict(old)], "user_tiers")
    assert kept == [new]
    assert [c.differing_columns for c in conflicts] == [("trading_fee_rate",)]
