"""The manifest convention checker (scripts/check_dbt_conventions.py).

A small synthetic dbt project, parsed once, follows every convention; each test breaks one in a
copy of its manifest and expects exactly that rule to fire. The last test runs the checker on
this project's own manifest.
"""

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

from check_dbt_conventions import check_manifest, main  # noqa: E402

DBT = str(Path(sys.executable).with_name("dbt"))
ENV = {**os.environ, "DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}

FILES = {
    "dbt_project.yml": """
name: shop
version: "1.0"
config-version: 2
profile: shop
flags:
  require_generic_test_arguments_property: true
""",
    "profiles.yml": """
shop:
  target: dev
  outputs:
    dev: {type: duckdb, path: ":memory:"}
""",
    "macros/windows.sql": """
{% macro incremental_window(column) %}{{ column }} is not null{% endmacro %}
{% test unique_combination_of_columns(model, combination_of_columns) %}
select 1 from {{ model }} where false
{% endtest %}
""",
    "models/staging/shop/_shop__sources.yml": """
version: 2
sources:
  - name: shop
    tables:
      - name: orders
""",
    "models/staging/shop/stg_shop__orders.sql": "select * from {{ source('shop', 'orders') }}\n",
    "models/staging/shop/_shop__models.yml": """
version: 2
models:
  - name: stg_shop__orders
    columns:
      - name: order_id
        data_tests: [unique, not_null]
""",
    "models/intermediate/orders/int_orders_valued.sql": """
{{ config(materialized='incremental', tags=['daily_partitioned']) }}
select * from {{ ref('stg_shop__orders') }} where {{ incremental_window('placed_at') }}
""",
    "models/intermediate/orders/_orders__models.yml": """
version: 2
models:
  - name: int_orders_valued
    data_tests:
      - unique_combination_of_columns:
          arguments:
            combination_of_columns: [order_id, placed_at]
""",
    "models/intermediate/orders/_orders__unit_tests.yml": """
version: 2
unit_tests:
  - name: orders_are_valued
    model: int_orders_valued
    given:
      - input: ref('stg_shop__orders')
        rows: [{order_id: 1}]
    expect:
      rows: [{order_id: 1}]
""",
    "models/marts/core/fct_orders.sql": "select order_id from {{ ref('int_orders_valued') }}\n",
    "models/marts/core/dim_days.sql": "select 1 as date_day\n",
    "models/marts/core/_core__models.yml": """
version: 2
models:
  - name: fct_orders
    config:
      contract: {enforced: true}
    columns:
      - name: order_id
        data_type: integer
        data_tests: [unique, not_null]
  - name: dim_days
    columns:
      - name: date_day
        data_tests: [unique, not_null]
""",
    "models/exposures.yml": """
version: 2
exposures:
  - name: orders_dashboard
    type: dashboard
    owner: {name: analytics}
    depends_on: [ref('fct_orders')]
""",
}


@pytest.fixture(scope="module")
def clean_manifest(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("shop")
    for name, text in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text.lstrip())
    subprocess.run(
        [DBT, "parse", "--project-dir", str(root), "--profiles-dir", str(root), "--quiet"],
        cwd=root,
        env=ENV,
        check=True,
    )
    return json.loads((root / "target" / "manifest.json").read_text())


def model_id(name: str) -> str:
    return f"model.shop.{name}"


def rules(manifest: dict) -> list[tuple[str, str]]:
    return [(v.rule, v.node) for v in check_manifest(manifest)]


def is_unique_test_of(node: dict, model: str) -> bool:
    return (
        node.get("attached_node") == model_id(model) and node["test_metadata"]["name"] == "unique"
    )


@pytest.fixture
def manifest(clean_manifest) -> dict:
    return copy.deepcopy(clean_manifest)


def test_the_synthetic_project_follows_every_convention(manifest):
    assert rules(manifest) == []


def test_a_model_without_a_primary_key_test(manifest):
    for uid, node in list(manifest["nodes"].items()):
        if is_unique_test_of(node, "dim_days"):
            del manifest["nodes"][uid]
    assert rules(manifest) == [("primary_key", "dim_days")]


def test_not_null_and_unique_on_different_columns_is_no_primary_key(manifest):
    for node in manifest["nodes"].values():
        if is_unique_test_of(node, "dim_days"):
            node["column_name"] = "other_column"
            node["test_metadata"]["kwargs"]["column_name"] = "other_column"
    assert rules(manifest) == [("primary_key", "dim_days")]


def test_a_staging_model_in_the_marts_folder(manifest):
    node = manifest["nodes"][model_id("stg_shop__orders")]
    node["path"] = "marts/core/stg_shop__orders.sql"
    node["original_file_path"] = "models/marts/core/stg_shop__orders.sql"
    node["patch_path"] = "shop://models/marts/core/_core__models.yml"
    found = rules(manifest)
    # stg_ outside staging and no fct_/dim_/rpt_ in the marts; it reads a source outside
    # staging, and the intermediate model that reads it now reads a mart
    assert found == [
        ("intermediate_reads_mart", "int_orders_valued"),
        ("layer_naming", "stg_shop__orders"),
        ("layer_naming", "stg_shop__orders"),
        ("source_outside_staging", "stg_shop__orders"),
    ]


def test_a_mart_without_its_prefix(manifest):
    manifest["nodes"][model_id("dim_days")]["name"] = "days"
    assert rules(manifest) == [("layer_naming", "days")]


def test_a_model_documented_in_another_folders_yaml(manifest):
    manifest["nodes"][model_id("dim_days")]["patch_path"] = "shop://models/marts/_marts__models.yml"
    assert rules(manifest) == [("yaml_per_folder", "dim_days")]


def test_an_undocumented_model(manifest):
    manifest["nodes"][model_id("dim_days")]["patch_path"] = None
    assert rules(manifest) == [("yaml_per_folder", "dim_days")]


def test_unit_tests_in_the_models_file(manifest):
    (test,) = manifest["unit_tests"].values()
    test["original_file_path"] = "models/intermediate/orders/_orders__models.yml"
    assert rules(manifest) == [("yaml_per_folder", "orders_are_valued")]


def test_an_intermediate_model_reading_a_mart(manifest):
    manifest["nodes"][model_id("int_orders_valued")]["depends_on"]["nodes"].append(
        model_id("dim_days")
    )
    assert rules(manifest) == [("intermediate_reads_mart", "int_orders_valued")]


def test_a_source_read_outside_staging(manifest):
    manifest["nodes"][model_id("fct_orders")]["depends_on"]["nodes"].append(
        "source.shop.shop.orders"
    )
    assert rules(manifest) == [("source_outside_staging", "fct_orders")]


def test_a_partitioned_model_without_the_tag(manifest):
    node = manifest["nodes"][model_id("int_orders_valued")]
    node["tags"] = []
    node["config"]["tags"] = []
    assert rules(manifest) == [("daily_partitioned_tag", "int_orders_valued")]


def test_the_tag_on_a_model_that_is_not_partitioned(manifest):
    node = manifest["nodes"][model_id("dim_days")]
    node["tags"] = ["daily_partitioned"]
    assert rules(manifest) == [("daily_partitioned_tag", "dim_days")]


def test_an_exposed_mart_without_an_enforced_contract(manifest):
    manifest["nodes"][model_id("fct_orders")]["config"]["contract"]["enforced"] = False
    assert rules(manifest) == [("mart_contract", "fct_orders")]


def test_an_exposed_mart_with_an_untyped_column(manifest):
    manifest["nodes"][model_id("fct_orders")]["columns"]["order_id"]["data_type"] = None
    assert rules(manifest) == [("mart_contract", "fct_orders")]


def test_the_command_lists_violations_and_fails(manifest, tmp_path, capsys):
    manifest["nodes"][model_id("dim_days")]["name"] = "days"
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    assert main([str(path)]) == 1
    assert "layer_naming: days:" in capsys.readouterr().out
    assert main([str(tmp_path / "missing.json")]) == 2


def test_this_project_follows_its_conventions(tmp_path):
    subprocess.run(
        [DBT, "parse", "--target", "lint", "--target-path", str(tmp_path), "--quiet"],
        cwd=REPO,
        env=ENV,
        check=True,
    )
    violations = check_manifest(json.loads((tmp_path / "manifest.json").read_text()))
    assert [str(v) for v in violations] == []
