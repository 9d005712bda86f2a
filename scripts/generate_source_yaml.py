"""Write the dbt source YAML of the landed tables from the landing contract.

``ingestion/contract.py`` is the one definition of every source table: its system, its
columns and what they mean, its freshness. The simulator writes it, the loaders enforce it
(ingestion/loaders/validation.py) and this script renders the dbt sources from it, one file
per source system (``contract.SYSTEMS``). ``tests/python/test_source_yaml.py`` fails when a
committed file is not what this script writes, so edit the contract, then run

    .venv/bin/python scripts/generate_source_yaml.py

``--check`` exits 1 (and writes nothing) when a file is stale.

The files carry no dbt tests on the raw columns: the loaders quarantine every row that breaks
a contract rule (required, accepted values, positive, types) before it reaches the raw schema,
so a source test could only restate them; the staging models test what they derive.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ingestion.contract import (  # noqa: E402
    PROVENANCE_COLUMNS,
    SYSTEMS,
    TABLES,
    Freshness,
    SourceSystem,
    SourceTable,
)
from tooling.generated_files import sync_files  # noqa: E402

# Column names that are SQL keywords: dbt quotes them (backticks on BigQuery, double quotes
# elsewhere).
KEYWORD_COLUMNS = {"timestamp"}


def _q(text: str) -> str:
    """A double-quoted YAML scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def _loaded_at_field(column: str) -> str:
    if column in KEYWORD_COLUMNS:
        return _q(f"{{{{ '`{column}`' if target.type == 'bigquery' else '\"{column}\"' }}}}")
    return column


def _freshness(fresh: Freshness, indent: str) -> list[str]:
    return [
        f"{indent}config:",
        *(
            [
                f"{indent}  # the quoted column name (a keyword): backticks on BigQuery, double "
                "quotes elsewhere"
            ]
            if fresh.loaded_at_column in KEYWORD_COLUMNS
            else []
        ),
        f"{indent}  loaded_at_field: {_loaded_at_field(fresh.loaded_at_column)}",
        f"{indent}  freshness:",
        f"{indent}    warn_after: {{count: {fresh.warn_after_hours}, period: hour}}",
        f"{indent}    error_after: {{count: {fresh.error_after_hours}, period: hour}}",
    ]


def _table(table: SourceTable) -> list[str]:
    if table.doc_block:
        description = f"{{{{ doc('{table.doc_block}') }}}}"
    else:
        description = table.description
        if table.freshness and table.freshness.reason:
            description = f"{description} {table.freshness.reason}"
    lines = [f"      - name: {table.name}", f"        description: {_q(description)}"]
    if table.freshness:
        lines += _freshness(table.freshness, "        ")
    lines.append("        columns:")
    for column in table.columns:
        lines.append(f"          - name: {column.name}")
        if column.name in KEYWORD_COLUMNS:
            lines.append("            quote: true")
        lines.append(f"            description: {_q(column.doc)}")
    for name in PROVENANCE_COLUMNS:
        lines.append(f"          - name: {name}")
        lines.append(f"            description: {_q('{{ doc(' + repr('raw' + name) + ') }}')}")
    return lines


def render_system(system: SourceSystem) -> str:
    lines = [
        "# GENERATED from ingestion/contract.py by scripts/generate_source_yaml.py: edit the",
        "# contract, then rerun the script (tests/python/test_source_yaml.py holds them equal).",
        "version: 2",
        "",
        "sources:",
        f"  - name: {system.name}",
        f"    description: {_q(system.description)}",
        "    schema: raw",
        *_freshness(system.freshness, "    "),
        "    tables:",
    ]
    for table in TABLES.values():
        if table.system == system.name:
            lines += _table(table)
    return "\n".join(lines) + "\n"


def render() -> dict[Path, str]:
    """Each generated file (absolute path) and the text it should hold."""
    return {REPO / system.sources_yml: render_system(system) for system in SYSTEMS.values()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a file is stale")
    args = parser.parse_args(argv)
    return sync_files(render(), args.check, "scripts/generate_source_yaml.py")


if __name__ == "__main__":
    sys.exit(main())
