"""Every dbt model has a primary-key test (issue 20, item 6): `unique` and `not_null` on one
column, or the project's `unique_combination_of_columns` (macros/generic_tests) on its grain.

Reads the manifest of the shared tiny build (conftest.tiny_warehouse), so a new model without
a key test fails here.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def manifest(tiny_warehouse) -> dict:
    target = Path(tiny_warehouse.env["DBT_TARGET_PATH"])
    return json.loads((target / "manifest.json").read_text())


def models_without_primary_key_test(manifest: dict) -> list[str]:
    models = {
        uid: node
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node.get("package_name") == "crypto_exchange"
    }
    unique: dict[str, set] = {}
    not_null: dict[str, set] = {}
    combination: set[str] = set()
    for test in manifest["nodes"].values():
        if test["resource_type"] != "test":
            continue
        name = (test.get("test_metadata") or {}).get("name")
        # a key test tests one model: attached_node (dbt >= 1.5) names it
        model = test.get("attached_node")
        if model not in models:
            continue
        if name == "unique":
            unique.setdefault(model, set()).add(test.get("column_name"))
        elif name == "not_null":
            not_null.setdefault(model, set()).add(test.get("column_name"))
        elif name == "unique_combination_of_columns":
            combination.add(model)
    return sorted(
        node["name"]
        for uid, node in models.items()
        if uid not in combination and not (unique.get(uid, set()) & not_null.get(uid, set()))
    )


def test_every_model_has_a_primary_key_test(manifest):
    missing = models_without_primary_key_test(manifest)
    assert not missing, (
        "models without a primary-key test (unique + not_null on the key column, or "
        "unique_combination_of_columns on the grain):\n" + "\n".join(missing)
    )


def test_the_check_finds_a_model_without_a_key_test(manifest):
    """The check can fail: drop rpt_churn_summary's not_null test and it is reported."""
    broken = copy.deepcopy(manifest)
    summary = next(
        uid
        for uid, node in broken["nodes"].items()
        if node["resource_type"] == "model" and node["name"] == "rpt_churn_summary"
    )
    for uid in [
        uid
        for uid, node in broken["nodes"].items()
        if node["resource_type"] == "test"
        and node.get("attached_node") == summary
        and (node.get("test_metadata") or {}).get("name") == "not_null"
    ]:
        del broken["nodes"][uid]
    assert models_without_primary_key_test(broken) == ["rpt_churn_summary"]
