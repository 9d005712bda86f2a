"""docs/landing_contract.md is the landing contract of ingestion/contract.py, rendered.

The page is generated (scripts/generate_landing_contract.py), so it cannot drift from what the
simulator writes and the loaders check: these tests fail when the committed page is stale, and
show that the page follows the contract (a change to a table changes the page).
"""

from __future__ import annotations

import dataclasses
import sys

from ingestion import contract

from .conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))
import generate_landing_contract as landing_contract  # noqa: E402

PAGE = REPO / "docs" / "landing_contract.md"


def test_landing_contract_page_is_generated_from_the_contract():
    assert PAGE.read_text() == landing_contract.render(), (
        "docs/landing_contract.md is stale: run .venv/bin/python "
        "scripts/generate_landing_contract.py"
    )


def test_check_mode_reports_a_stale_page(tmp_path, capsys):
    stale = tmp_path / "landing_contract.md"
    stale.write_text(PAGE.read_text().replace("`trade_id`", "`fill_id`"))
    assert landing_contract.main(["--check", "--output", str(stale)]) == 1
    assert "stale" in capsys.readouterr().err
    current = tmp_path / "current.md"
    current.write_text(landing_contract.render())
    assert landing_contract.main(["--check", "--output", str(current)]) == 0


def test_every_table_column_key_and_allowed_value_is_on_the_page():
    text = landing_contract.render()
    for table in contract.TABLES.values():
        assert f'<a id="{table.name}"></a>' in text
        section = text.split(f"### `{table.name}`", 1)[1].split("\n### ", 1)[0]
        assert f"Primary key: {landing_contract._code(table.primary_key)}" in section
        for column in table.columns:
            row = next(
                line for line in section.splitlines() if line.startswith(f"| `{column.name}`")
            )
            assert ("| no |" in row) == column.required, row
            for value in column.enum or ():
                assert f"`{value}`" in row, (table.name, column.name, value)
    for rule in contract.LANDING_RULES:
        assert f"## {rule.title}" in text


def test_the_page_follows_a_change_to_the_contract(monkeypatch):
    trades = contract.TABLES["trades"]
    side = trades.column("side")
    changed = dataclasses.replace(
        trades,
        columns=tuple(
            dataclasses.replace(c, enum=("buy", "sell", "hold")) if c is side else c
            for c in trades.columns
        ),
    )
    monkeypatch.setitem(contract.TABLES, "trades", changed)
    assert "`buy`, `sell`, `hold`" in landing_contract.render()


def test_version_rules_are_stated_in_their_order():
    text = landing_contract.version_rule_text(contract.TABLES["support_tickets"])
    assert text.index("greatest(created_at, resolved_at)") < text.index("`open` < `pending`")
    assert text.endswith("then load order")
    assert "first load of the same content" in landing_contract.version_rule_text(
        contract.TABLES["trading_pairs"]
    )
    assert landing_contract.version_rule_text(contract.TABLES["trades"]).startswith("immutable")


def test_column_descriptions_of_the_contract_reach_the_page(monkeypatch):
    """Once the contract describes its columns, the page shows each description."""
    trades = contract.TABLES["trades"]
    fee = trades.column("fee")
    described = dataclasses.replace(fee, description="Fee charged.")
    changed = dataclasses.replace(
        trades, columns=tuple(described if c is fee else c for c in trades.columns)
    )
    monkeypatch.setitem(contract.TABLES, "trades", changed)
    text = landing_contract.render()
    assert "| column | type | NULL | allowed values | rule | meaning |" in text
    assert "| `fee` | decimal (`DECIMAL(20,8)`) | no |  |  | Fee charged. |" in text
