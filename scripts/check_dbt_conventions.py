"""Check the dbt project's conventions on its manifest (docs/architecture.md, "dbt conventions").

The project's equivalent of dbt_project_evaluator, which cannot be installed here (no dbt
packages). Each rule names the model and what to change:

* ``primary_key``: every model has a primary-key test: ``unique`` and ``not_null`` on one
  column, or ``unique_combination_of_columns``.
* ``layer_naming``: ``stg_`` models only in models/staging, ``int_`` only in
  models/intermediate, ``fct_``/``dim_``/``rpt_`` only in models/marts, and every model in
  those folders has its layer's prefix.
* ``yaml_per_folder``: a model is documented in ``_<dir>__models.yml`` of its own folder, a
  unit test sits in ``_<dir>__unit_tests.yml`` of its model's folder.
* ``intermediate_reads_mart``: an intermediate model depends on no mart.
* ``source_outside_staging``: only staging models read ``source()``.
* ``daily_partitioned_tag``: a model that selects its rows with ``incremental_window()`` carries
  the tag ``daily_partitioned`` (Dagster's daily partitions) and a tagged model calls it.
* ``mart_contract``: every mart that an exposure depends on has an enforced contract, with a
  ``data_type`` on every column.

    python scripts/check_dbt_conventions.py [target/manifest.json]

exits 1 and lists the violations when there are any.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from dbt_artifacts_parser.parser import parse_manifest

REPO = Path(__file__).resolve().parents[1]
LAYER_PREFIXES = {
    "staging": ("stg_",),
    "intermediate": ("int_",),
    "marts": ("fct_", "dim_", "rpt_"),
}
PARTITIONED_TAG = "daily_partitioned"
PARTITION_MACRO = "incremental_window("


@dataclass(frozen=True, order=True)
class Violation:
    rule: str
    node: str
    message: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.node}: {self.message}"


def _layer(path: str) -> str | None:
    """The layer of a model's path relative to the model folder ('marts/core/x.sql' -> marts)."""
    parts = PurePosixPath(path).parts
    return parts[0] if len(parts) > 1 and parts[0] in LAYER_PREFIXES else None


def _value(obj: Any, name: str, default: Any = None) -> Any:
    value = getattr(obj, name, default)
    return getattr(value, "value", value)  # enums (resource_type, materialized) to strings


def check_manifest(manifest_dict: dict[str, Any]) -> list[Violation]:
    """Every violation of the conventions in a manifest (the JSON of target/manifest.json)."""
    manifest = parse_manifest(manifest_dict)
    models = {
        uid: node
        for uid, node in manifest.nodes.items()
        if _value(node, "resource_type") == "model"
    }
    violations: list[Violation] = []

    # Primary-key tests, gathered per model.
    unique_columns: dict[str, set[str]] = defaultdict(set)
    not_null_columns: dict[str, set[str]] = defaultdict(set)
    has_combination: set[str] = set()
    for node in manifest.nodes.values():
        if _value(node, "resource_type") != "test" or not getattr(node, "test_metadata", None):
            continue
        attached = getattr(node, "attached_node", None)
        name = node.test_metadata.name
        column = getattr(node, "column_name", None) or (node.test_metadata.kwargs or {}).get(
            "column_name"
        )
        if name == "unique" and column:
            unique_columns[attached].add(column)
        elif name == "not_null" and column:
            not_null_columns[attached].add(column)
        elif name == "unique_combination_of_columns":
            has_combination.add(attached)

    exposed: set[str] = set()
    for exposure in manifest.exposures.values():
        exposed.update(exposure.depends_on.nodes or [])

    for uid, node in sorted(models.items()):
        name, path = node.name, node.path  # path: relative to the model folder
        layer = _layer(path)
        directory = PurePosixPath(node.original_file_path).parent

        if uid not in has_combination and not (unique_columns[uid] & not_null_columns[uid]):
            violations.append(
                Violation(
                    "primary_key",
                    name,
                    "no primary-key test: add unique and not_null on its key column, or "
                    "unique_combination_of_columns on its key columns",
                )
            )

        for prefix_layer, prefixes in LAYER_PREFIXES.items():
            if name.startswith(prefixes) and layer != prefix_layer:
                violations.append(
                    Violation(
                        "layer_naming",
                        name,
                        f"a {'/'.join(prefixes)} model belongs in models/{prefix_layer}, "
                        f"not {directory}",
                    )
                )
        if layer and not name.startswith(LAYER_PREFIXES[layer]):
            violations.append(
                Violation(
                    "layer_naming",
                    name,
                    f"a model in models/{layer} is named {' or '.join(LAYER_PREFIXES[layer])}...",
                )
            )

        expected_yaml = directory / f"_{directory.name}__models.yml"
        patch = (node.patch_path or "").split("://", 1)[-1]
        if PurePosixPath(patch) != expected_yaml:
            violations.append(
                Violation(
                    "yaml_per_folder",
                    name,
                    f"documented in {patch or 'no YAML file'}, expected {expected_yaml}",
                )
            )

        parents = node.depends_on.nodes or []
        if layer == "intermediate":
            for parent in parents:
                if parent in models and _layer(models[parent].path) == "marts":
                    violations.append(
                        Violation(
                            "intermediate_reads_mart",
                            name,
                            f"reads the mart {models[parent].name}: move the shared logic into an "
                            "intermediate model that both read",
                        )
                    )
        if layer != "staging":
            for parent in parents:
                if parent.startswith("source."):
                    violations.append(
                        Violation(
                            "source_outside_staging",
                            name,
                            f"reads {parent.removeprefix('source.').split('.', 1)[1]} with "
                            "source(): read it through a staging model",
                        )
                    )

        calls_window = PARTITION_MACRO in (node.raw_code or "")
        tagged = PARTITIONED_TAG in (node.tags or [])
        if calls_window and not tagged:
            violations.append(
                Violation(
                    "daily_partitioned_tag",
                    name,
                    f"selects rows with incremental_window() but lacks the tag {PARTITIONED_TAG}",
                )
            )
        if tagged and not (calls_window and _value(node.config, "materialized") == "incremental"):
            violations.append(
                Violation(
                    "daily_partitioned_tag",
                    name,
                    f"tagged {PARTITIONED_TAG} but is not an incremental model reading its rows "
                    "with incremental_window()",
                )
            )

        if uid in exposed and layer == "marts":
            contract = getattr(node.config, "contract", None)
            if not (contract and contract.enforced):
                violations.append(
                    Violation(
                        "mart_contract",
                        name,
                        "an exposure reads it: set config contract: {enforced: true}",
                    )
                )
            else:
                untyped = sorted(c for c, col in node.columns.items() if not col.data_type)
                if untyped:
                    violations.append(
                        Violation(
                            "mart_contract",
                            name,
                            f"columns without data_type: {', '.join(untyped)}",
                        )
                    )

    for test in manifest.unit_tests.values():
        model = next((models[uid] for uid in test.depends_on.nodes or [] if uid in models), None)
        if model is None:
            continue
        directory = PurePosixPath(model.original_file_path).parent
        expected = directory / f"_{directory.name}__unit_tests.yml"
        if PurePosixPath(test.original_file_path) != expected:
            violations.append(
                Violation(
                    "yaml_per_folder",
                    test.name,
                    f"unit test of {model.name} in {test.original_file_path}, expected {expected}",
                )
            )
    return sorted(violations)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else REPO / "target" / "manifest.json"
    if not path.is_file():
        print(f"No manifest at {path}: run `dbt parse` first.", file=sys.stderr)
        return 2
    violations = check_manifest(json.loads(path.read_text()))
    for violation in violations:
        print(violation)
    print(f"{len(violations)} convention violation(s) in {path}")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
