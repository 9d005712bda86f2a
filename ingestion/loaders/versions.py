"""The one rule that keeps a version per key, and the conflicts it reports
(docs/landing_contract.md#keys-and-versions).

Every loader and staging use the same rule, declared per table in ``ingestion/contract.py``
(:class:`~ingestion.contract.VersionRule`):

1. the greatest of the rule's version timestamps, NULLs ignored (a row without one ranks last);
2. then the rank of its status in the rule's precedence (a terminal status outranks pending);
3. then load order: the row of the file loaded last, then the highest row number in the file
   (for a batch fetched over HTTP: the later record of the response). With ``first_seen``,
   a row's load order is that of the first load of the same content (a re-sent old export is
   no newer than it was).

Rows of one key equal on (1) and (2) but different in value are a **conflict**: the rule keeps
one, and the conflict is reported: in dbt by ``stg_exchange__version_conflicts`` (any loader's
rows in ``raw``, within one file or across files) and the mart ``fct_source_version_conflicts``.

* SQL: the dbt macro ``latest_version`` (macros/latest_version.sql) orders by the rules this
  module writes into ``macros/version_rules.sql`` (``python -m ingestion.loaders.versions``
  regenerates it; a test checks it is current).
* Python (a loader that must pick before it writes, e.g. an HTTP fetch with the same key twice):
  :func:`keep_latest` takes rows in load order and returns the kept rows and the conflicts.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ingestion.contract import TABLES, SourceTable, VersionRule

MACRO_PATH = Path(__file__).resolve().parents[2] / "macros" / "version_rules.sql"


def _table(table: SourceTable | str) -> SourceTable:
    return TABLES[table] if isinstance(table, str) else table


def version_of(row: Mapping, rule: VersionRule) -> dt.datetime | None:
    """The row's version timestamp: the greatest of the rule's timestamps present, or None."""
    values = [row.get(c) for c in rule.timestamps]
    values = [v for v in values if v is not None]
    return max(values) if values else None


def version_key(row: Mapping, rule: VersionRule) -> tuple:
    """Sort key of steps 1 and 2 (higher = later); load order is the caller's position."""
    version = version_of(row, rule)
    status = rule.status_rank(row.get(rule.status_column)) if rule.status_column else 0
    # a row without a version timestamp ranks below every row with one (SQL: desc nulls last)
    return (version is not None, version or dt.datetime.min, status)


@dataclass(frozen=True)
class Conflict:
    """Rows of one key with the same version but different values: one kept, all reported."""

    table: str
    key: tuple
    version: dt.datetime | None
    sources: tuple[str, ...]  # where each conflicting row came from, in load order
    differing_columns: tuple[str, ...]
    kept: Mapping


def keep_latest(
    rows: Iterable[Mapping], table: SourceTable | str, source: str = ""
) -> tuple[list[Mapping], list[Conflict]]:
    """One row per key by the rule above, ``rows`` being in load order (later = loaded later).

    Returns the kept rows (in the order their keys first appear) and every conflict. Exact
    duplicates (replays) are no conflict. ``source`` names where the rows came from (a file, a
    request URL): each row may also carry its own in ``_source_file``.
    """
    spec = _table(table)
    rule, columns = spec.version, spec.column_names
    groups: dict[tuple, list[tuple[int, Mapping]]] = {}
    first_seen: dict[tuple, int] = {}
    for position, row in enumerate(rows):
        key = tuple(row.get(c) for c in spec.primary_key)
        groups.setdefault(key, []).append((position, row))
        if rule.first_seen:
            first_seen.setdefault((key, tuple(row.get(c) for c in columns)), position)

    def order(item: tuple[int, Mapping]) -> tuple:
        position, row = item
        if rule.first_seen:
            content = (
                tuple(row.get(c) for c in spec.primary_key),
                tuple(row.get(c) for c in columns),
            )
            return (*version_key(row, rule), first_seen[content], position)
        return (*version_key(row, rule), position)

    kept: list[Mapping] = []
    conflicts: list[Conflict] = []
    for key, versions in groups.items():
        ranked = sorted(versions, key=order)
        kept.append(ranked[-1][1])
        by_version: dict[tuple, list[tuple[int, Mapping]]] = {}
        for item in ranked:
            by_version.setdefault(version_key(item[1], rule), []).append(item)
        for group in by_version.values():
            differing = tuple(c for c in columns if len({r.get(c) for _, r in group}) > 1)
            if differing:
                conflicts.append(
                    Conflict(
                        spec.name,
                        key,
                        version_of(group[0][1], rule),
                        tuple(r.get("_source_file", source) for _, r in group),
                        differing,
                        group[-1][1],
                    )
                )
    return kept, conflicts


# --------------------------------------------------------------------------------------
# SQL


def _jinja(value) -> str:
    """A Python literal as a Jinja literal (true/false/none, lists, dicts)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_jinja(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_jinja(k)}: {_jinja(v)}" for k, v in value.items()) + "}"
    return str(value)


def dbt_rules() -> dict[str, dict]:
    """What dbt needs of each table's rule: key, version columns, status precedence, columns."""
    rules = {}
    for spec in TABLES.values():
        rule = spec.version
        rules[spec.name] = {
            "key": list(spec.primary_key),
            "timestamps": list(rule.timestamps),
            "status_column": rule.status_column if rule.precedence else None,
            "precedence": [list(group) for group in rule.precedence],
            "first_seen": rule.first_seen,
            "columns": [[c.name, c.type] for c in spec.columns],
        }
    return rules


def macro_text() -> str:
    lines = [
        "{#- GENERATED from ingestion/contract.py by `python -m ingestion.loaders.versions`:",
        "    do not edit. Each source table's version rule (docs/landing_contract.md): its key,",
        "    the `timestamps` whose greatest is its version (none: load order only), its",
        "    `status_column` and `precedence` (groups of equal rank, lowest first), `first_seen`",
        "    (a row's load order is the first load of its content), and its columns with their",
        "    contract types. Read by latest_version and version_conflicts. -#}",
        "{% macro version_rules() -%}",
        "    {{ return({",
    ]
    rules = dbt_rules()
    for i, (name, rule) in enumerate(rules.items()):
        comma = "," if i < len(rules) - 1 else ""
        lines.append(f"        {_jinja(name)}: {_jinja(rule)}{comma}")
    lines += ["    }) }}", "{%- endmacro %}", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    MACRO_PATH.write_text(macro_text())
    print(f"wrote {MACRO_PATH}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
