"""The dbt source YAML of the landed tables is generated from the landing contract.

ingestion/contract.py is the one statement of every source table; the committed
models/staging/**/_*__sources.yml must be exactly what scripts/generate_source_yaml.py writes
from it, so a column added to the contract (or a description changed) without regenerating
fails here.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

import generate_source_yaml  # noqa: E402

from ingestion import contract  # noqa: E402

FIX = "run .venv/bin/python scripts/generate_source_yaml.py"


def test_committed_source_yaml_is_what_the_contract_generates():
    for path, text in generate_source_yaml.render().items():
        assert path.exists(), f"{path} missing: {FIX}"
        assert path.read_text() == text, f"{path.relative_to(REPO)} is stale: {FIX}"


def test_every_contract_table_and_column_is_a_documented_source_column():
    declared = {}
    for path in generate_source_yaml.render():
        for source in yaml.safe_load(path.read_text())["sources"]:
            for table in source["tables"]:
                declared[table["name"]] = (source["name"], table)
    assert set(declared) == set(contract.TABLES)
    for name, table in contract.TABLES.items():
        system, source_table = declared[name]
        assert system == table.system
        columns = [c["name"] for c in source_table["columns"]]
        assert columns == table.column_names + list(contract.PROVENANCE_COLUMNS)
        for column in source_table["columns"]:
            assert column["description"].strip(), f"{name}.{column['name']} has no description"


def test_a_contract_change_makes_the_committed_yaml_stale(monkeypatch, tmp_path):
    trades = contract.TABLES["trades"]
    changed = dataclasses.replace(trades, columns=trades.columns + (contract.Column("venue"),))
    monkeypatch.setitem(contract.COLUMN_DESCRIPTIONS, "venue", "Where the fill was matched.")
    monkeypatch.setitem(generate_source_yaml.TABLES, "trades", changed)
    rendered = generate_source_yaml.render()
    exchange = REPO / contract.SYSTEMS["exchange"].sources_yml
    assert "Where the fill was matched." in rendered[exchange]
    assert rendered[exchange] != exchange.read_text()

    # --check reports the stale file and writes nothing
    stale = tmp_path / "_exchange__sources.yml"
    stale.write_text("version: 2\n")
    monkeypatch.setattr(generate_source_yaml, "REPO", tmp_path)
    monkeypatch.setattr(generate_source_yaml, "render", lambda: {stale: rendered[exchange]})
    assert generate_source_yaml.main(["--check"]) == 1
    assert stale.read_text() == "version: 2\n"
    assert generate_source_yaml.main([]) == 0
    assert stale.read_text() == rendered[exchange]


def test_a_column_without_a_description_is_an_error():
    with pytest.raises(KeyError):
        _ = contract.Column("undocumented_column").doc
