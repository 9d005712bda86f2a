"""The documentation holds: every dbt resource described, the docs match what is built, the
metrics dictionary is current, the common queries compile and run, the knowledge base links.

Reads the manifest and the warehouse of the shared tiny build (conftest.tiny_warehouse), so
it sees every model, source, seed, snapshot, macro, analysis and exposure the project has.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path

import duckdb
import pytest

from .conftest import REPO, dbt

sys.path.insert(0, str(REPO / "scripts"))
import generate_metrics_dictionary as metrics_dictionary  # noqa: E402

DOCS = REPO / "docs"
# Adapter implementations of a dispatched macro are described, but their arguments are those
# of the dispatching macro, documented there.
IMPLEMENTATION_PREFIXES = ("default__", "duckdb__", "postgres__", "bigquery__")
MACRO_SIGNATURE = re.compile(r"{%-?\s*(?:macro|test)\s+(\w+)\s*\(([^)]*)\)")
MARKDOWN_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def described(text: str | None) -> bool:
    return bool(text and text.strip() and text.strip().lower() not in {"todo", "tbd", "-"})


@pytest.fixture(scope="module")
def manifest(tiny_warehouse) -> dict:
    """The manifest of the shared tiny build's `dbt build`."""
    target = Path(tiny_warehouse.env["DBT_TARGET_PATH"])
    return json.loads((target / "manifest.json").read_text())


def own(resources: dict) -> list[dict]:
    return [r for r in resources.values() if r.get("package_name") == "crypto_exchange"]


def signature_arguments(macro: dict) -> list[str]:
    match = MACRO_SIGNATURE.search(macro["macro_sql"])
    if not match or not match.group(2).strip():
        return []
    return [part.split("=")[0].strip() for part in match.group(2).split(",") if part.strip()]


def undescribed(manifest: dict) -> list[str]:
    """Every resource of the project without a description, as 'kind name[.column]'."""
    gaps: list[str] = []
    for node in own(manifest["nodes"]):
        kind = node["resource_type"]
        if kind not in ("model", "seed", "snapshot", "analysis"):
            continue  # tests describe themselves by their name
        if not described(node["description"]):
            gaps.append(f"{kind} {node['name']}")
        gaps += [
            f"{kind} column {node['name']}.{name}"
            for name, column in node["columns"].items()
            if not described(column["description"])
        ]
    for source in own(manifest["sources"]):
        name = f"{source['source_name']}.{source['name']}"
        if not described(source["description"]):
            gaps.append(f"source {name}")
        if not described(source["source_description"]):
            gaps.append(f"source {source['source_name']} (the source itself)")
        gaps += [
            f"source column {name}.{column_name}"
            for column_name, column in source["columns"].items()
            if not described(column["description"])
        ]
    for macro in own(manifest["macros"]):
        if not described(macro["description"]):
            gaps.append(f"macro {macro['name']}")
        declared = {arg["name"]: arg for arg in macro["arguments"]}
        gaps += [
            f"macro argument {macro['name']}({name})"
            for name, arg in declared.items()
            if not described(arg.get("description"))
        ]
        # Private helpers (a leading underscore) need a description, not an argument list.
        if not macro["name"].startswith((*IMPLEMENTATION_PREFIXES, "_")):
            gaps += [
                f"macro argument {macro['name']}({name}) not declared in YAML"
                for name in signature_arguments(macro)
                if name not in declared
            ]
    for exposure in own(manifest["exposures"]):
        if not described(exposure["description"]):
            gaps.append(f"exposure {exposure['name']}")
        if not exposure["depends_on"]["nodes"]:
            gaps.append(f"exposure {exposure['name']} depends on no model (declare what it reads)")
    return sorted(set(gaps))


def test_every_dbt_resource_is_described(manifest):
    gaps = undescribed(manifest)
    assert not gaps, f"{len(gaps)} undescribed (add descriptions in the YAML):\n" + "\n".join(gaps)


def test_the_check_finds_an_undescribed_column(manifest):
    """The check above can fail: a blanked description is reported."""
    import copy

    broken = copy.deepcopy(manifest)
    model = next(n for n in own(broken["nodes"]) if n["resource_type"] == "model" and n["columns"])
    column = next(iter(model["columns"]))
    model["columns"][column]["description"] = "  "
    macro = next(m for m in own(broken["macros"]) if m["name"] == "safe_divide")
    macro["arguments"] = macro["arguments"][:1]
    gaps = undescribed(broken)
    assert f"model column {model['name']}.{column}" in gaps
    assert "macro argument safe_divide(denominator) not declared in YAML" in gaps


def test_documented_columns_are_the_built_columns(manifest, tiny_warehouse):
    """Every column of every built model, seed, snapshot and raw source table is declared (and
    so described), and nothing is declared that the warehouse does not have."""
    con = duckdb.connect(str(tiny_warehouse.warehouse), read_only=True)
    try:
        rows = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns"
        ).fetchall()
    finally:
        con.close()
    built: dict[tuple[str, str], set[str]] = {}
    for schema, table, column in rows:
        built.setdefault((schema.lower(), table.lower()), set()).add(column.lower())

    problems = []
    resources = [
        n
        for n in own(manifest["nodes"])
        if n["resource_type"] in ("model", "seed", "snapshot")
        and n["config"].get("materialized") != "ephemeral"
    ] + [
        # The predictive source is written after dbt by predictive/ (not in the tiny build)
        # and documented as table comments by its writers (_predictive__sources.yml).
        source
        for source in own(manifest["sources"])
        if source["source_name"] != "predictive"
    ]
    for node in resources:
        identifier = node["identifier"] if node["resource_type"] == "source" else node["alias"]
        actual = built.get((node["schema"].lower(), identifier.lower()))
        if actual is None:
            problems.append(f"{node['resource_type']} {node['name']}: not in the warehouse")
            continue
        declared = {name.lower() for name in node["columns"]}
        what = f"{node['resource_type']} {node['name']}"
        if missing := sorted(actual - declared):
            problems.append(f"{what}: undocumented {missing}")
        if stale := sorted(declared - actual):
            problems.append(f"{what}: documented, not built {stale}")
    assert not problems, "\n".join(problems)


def test_metrics_dictionary_is_generated_from_the_doc_blocks():
    """docs/metrics.md is exactly what the generator writes from the doc blocks today."""
    current = (DOCS / "metrics.md").read_text()
    assert current == metrics_dictionary.render(), (
        "docs/metrics.md is stale: run .venv/bin/python scripts/generate_metrics_dictionary.py"
    )


def test_metrics_dictionary_defines_every_target_and_kpi_column():
    text = metrics_dictionary.render()
    blocks = {
        name
        for path in metrics_dictionary.doc_files()
        for name, _ in metrics_dictionary.parse_doc_blocks(path)
    }
    with open(REPO / "seeds" / "kpi_targets.csv", newline="") as f:
        targets = [row["metric"] for row in csv.DictReader(f)]
    undefined = [
        m for m in targets if f"metric_{m}" not in blocks and not m.endswith("_revenue_share")
    ]
    assert not undefined, f"targets without a metric_<name> doc block: {undefined}"
    # Every KPI column of the daily mart links to its definition.
    used = metrics_dictionary.doc_references()
    daily_columns = [
        place
        for places in used.values()
        for place in places
        if place.startswith("`fct_daily_exchange_kpis.")
    ]
    assert len(daily_columns) >= 13, daily_columns
    for name in ("metric_active_traders", "metric_churn_rate", "churn_risk_level"):
        assert f'<a id="{name}"></a>' in text


def test_every_analysis_compiles_runs_and_is_listed(tiny_warehouse, manifest):
    """The common SQL queries (analyses/) compile against the project, run on the warehouse
    and return rows, and the knowledge base lists each one."""
    analyses = sorted(n["name"] for n in own(manifest["nodes"]) if n["resource_type"] == "analysis")
    assert len(analyses) >= 8, analyses
    queries_page = (DOCS / "queries.md").read_text()
    unlisted = [name for name in analyses if f"analyses/{name}.sql" not in queries_page]
    assert not unlisted, f"docs/queries.md does not list {unlisted}"

    dbt(["compile", "--select", "resource_type:analysis"], tiny_warehouse.env)
    compiled = Path(tiny_warehouse.env["DBT_TARGET_PATH"]) / "compiled" / "crypto_exchange"
    con = duckdb.connect(str(tiny_warehouse.warehouse), read_only=True)
    try:
        for name in analyses:
            source = (REPO / "analyses" / f"{name}.sql").read_text()
            assert source.lstrip().startswith("--"), f"{name}: start with a comment saying why"
            sql = (compiled / "analyses" / f"{name}.sql").read_text()
            rows = con.execute(sql).fetchall()
            assert rows, f"analyses/{name}.sql returned no rows on the tiny warehouse"
    finally:
        con.close()


def _links(page: Path) -> list[str]:
    return [
        link
        for link in MARKDOWN_LINK.findall(page.read_text())
        if not link.startswith(("http://", "https://", "mailto:"))
    ]


def anchors(page: Path) -> set[str]:
    """The anchors GitHub gives a Markdown page: heading slugs and explicit <a id>s."""
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.DOTALL)
    slugs = set(re.findall(r'<a id="([^"]+)"', text))
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*$", text, flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        slugs.add(slug)
    return slugs


def test_knowledge_base_links_resolve():
    """Every relative link of docs/*.md and README.md points to a file that exists, and every
    #anchor into a Markdown page to a heading or entry that exists."""
    broken = []
    for page in [REPO / "README.md", *sorted(DOCS.glob("*.md"))]:
        for link in _links(page):
            target, _, anchor = link.partition("#")
            path = (page.parent / target).resolve() if target else page
            if not path.exists():
                broken.append(f"{page.relative_to(REPO)} -> {link}")
            elif anchor and path.suffix == ".md" and anchor not in anchors(path):
                broken.append(f"{page.relative_to(REPO)} -> {link} (no such heading)")
    assert not broken, "\n".join(broken)


def test_knowledge_base_index_lists_every_page():
    index = (DOCS / "README.md").read_text()
    pages = sorted(p.name for p in DOCS.glob("*.md") if p.name != "README.md")
    missing = [name for name in pages if f"({name}" not in index]
    assert not missing, f"docs/README.md does not link {missing}"
    sections = ("Quick start", "Metrics", "Dashboard", "SQL", "Troubleshooting", "Architecture")
    for section in sections:
        assert section.lower() in index.lower(), section
