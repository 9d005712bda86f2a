"""The closing message of `make pipeline`: what dbt's warnings are, and where the results are.

dbt ends a clean build of the simulated exchange with "Completed with N warnings": tests with
`severity: warn` that report what the simulator planted on purpose (engine candles that
disagree with the fills, external prices off the exchange's). This reads the last run's
``run_results.json`` (``make pipeline`` runs dbt through Dagster, which gives each dbt step its
own ``target/<step>-<run>-<hash>/``; ``make build`` writes ``target/run_results.json``), names
each warning with its row count and the explanation at the
top of the test's SQL, counts the simulator's planted cases of that kind in the landing
directory's ``_simulator/planted_cases.csv``, and says where the marts, docs and dashboard are.

    .venv/bin/python scripts/pipeline_summary.py --warehouse data/warehouse.duckdb \\
        --landing data/landing
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from pathlib import Path

from warehouse import settings

REPO = Path(__file__).resolve().parent.parent
# Which planted cases (rule column of planted_cases.csv) each warn-severity test reports.
PLANTED_RULES = {
    "assert_fill_candles_reconcile_with_market_data": ("candle_mismatch",),
    "assert_external_price_deviations_within_threshold": ("external_price_deviation",),
}
# Warnings that the simulated exchange raises without planting them, and why.
DEMO_FINDINGS = {
    "expression_is_true_fct_compliance_rule_flag_share_daily_not_is_above_ceiling": (
        "A rule flagged more than its ceiling share of a day's active users (the alert-flood "
        "guard, docs/aml_rules.md). In the demo: the first days of the window, when the "
        "simulated whales fund their accounts with their first large deposits and the "
        "daily-aggregate and large-transaction rules flag many of the few active users."
    ),
}


def test_explanation(sql_path: Path) -> str:
    """The comment lines at the top of a singular test's SQL, joined into one sentence."""
    if not sql_path.is_file():
        return ""
    lines = []
    for line in sql_path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("{{") and not lines:
            continue  # the config() call
        if not stripped.startswith("--"):
            if lines:
                break
            continue
        lines.append(stripped.lstrip("-").strip())
    return re.sub(r"\s+", " ", " ".join(lines))


def planted_counts(landing: Path) -> dict[str, int]:
    path = landing / "_simulator" / "planted_cases.csv"
    counts: dict[str, int] = {}
    if not path.is_file():
        return counts
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            counts[row["rule"]] = counts.get(row["rule"], 0) + 1
    return counts


def last_run_results(target: Path) -> list[Path]:
    """The ``run_results.json`` files of the last run: dbt's own, or the dbt steps of the
    Dagster run that wrote the newest one (folders ``<step>-<run id>-<hash>``)."""
    found = [p for p in [target / "run_results.json", *target.glob("*/run_results.json")]]
    found = [p for p in found if p.is_file()]
    if not found:
        return []

    def run_of(path: Path) -> str:
        parts = path.parent.name.split("-") if path.parent != target else []
        return parts[-2] if len(parts) >= 3 else str(path)

    newest = run_of(max(found, key=lambda p: p.stat().st_mtime))
    return sorted(p for p in found if run_of(p) == newest)


def warnings(run_results: Path | list[Path]) -> list[dict]:
    """The warn results of dbt's last run: name, failures, the test's SQL file."""
    paths = [run_results] if isinstance(run_results, Path) else run_results
    results = [
        result
        for path in paths
        if path.is_file()
        for result in json.loads(path.read_text(encoding="utf-8")).get("results", [])
    ]
    out = []
    for result in results:
        if result.get("status") != "warn":
            continue
        unique_id = result["unique_id"]
        name = unique_id.split(".")[2]  # test.<project>.<name>[.<hash> of a generic test]
        out.append({"name": name, "failures": result.get("failures"), "unique_id": unique_id})
    return sorted(out, key=lambda w: w["name"])


def summary(warehouse: str, landing: Path, run_results: Path | list[Path]) -> str:
    lines = []
    warns = warnings(run_results)
    planted = planted_counts(landing)
    if warns:
        lines.append(f"dbt's {len(warns)} warning(s), not errors:")
        for warn in warns:
            rules = PLANTED_RULES.get(warn["name"], ())
            n_planted = sum(planted.get(rule, 0) for rule in rules)
            origin = (
                f" Planted by the simulator: {n_planted} case(s) of {', '.join(rules)} in "
                f"{landing / '_simulator' / 'planted_cases.csv'}."
                if n_planted
                else " Not a planted case: read it as a finding."
            )
            explanation = DEMO_FINDINGS.get(warn["name"]) or test_explanation(
                REPO / "tests" / "dbt" / f"{warn['name']}.sql"
            )
            lines.append(f"  WARN {warn['name']}: {warn['failures']} row(s).{origin}")
            if explanation:
                lines.append(f"    {explanation}")
    lines += [
        f"Warehouse: {warehouse} (marts in schema 'marts').",
        "  dbt docs (every model, column and metric, lineage, row counts): make docs, "
        "then http://127.0.0.1:8080",
        "  dashboard: make dashboard, then http://127.0.0.1:8501",
        "  metrics dictionary: docs/metrics.md; common queries: docs/queries.md",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    current = settings.current()
    parser.add_argument("--warehouse", default=str(current.warehouse))
    parser.add_argument("--landing", default=current.landing_dir, type=Path)
    parser.add_argument("--run-results", type=Path, help="default: the last run's, under target/")
    args = parser.parse_args(argv)
    run_results = args.run_results or last_run_results(REPO / "target")
    print(summary(args.warehouse, args.landing, run_results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
