"""The closing message of `make pipeline`: what dbt's warnings are, and where the results are.

dbt ends a clean build of the simulated exchange with "Completed with N warnings": tests with
`severity: warn` that report what the simulator planted on purpose (engine candles that
disagree with the fills, external prices off the exchange's). This reads dbt's
``target/run_results.json``, names each warning with its row count and the explanation at the
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


def warnings(run_results: Path) -> list[dict]:
    """The warn results of dbt's last command: name, failures, the test's SQL file."""
    if not run_results.is_file():
        return []
    results = json.loads(run_results.read_text(encoding="utf-8")).get("results", [])
    out = []
    for result in results:
        if result.get("status") != "warn":
            continue
        unique_id = result["unique_id"]
        name = unique_id.split(".")[-1]
        out.append({"name": name, "failures": result.get("failures"), "unique_id": unique_id})
    return sorted(out, key=lambda w: w["name"])


def summary(warehouse: str, landing: Path, run_results: Path) -> str:
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
            explanation = test_explanation(REPO / "tests" / "dbt" / f"{warn['name']}.sql")
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
    parser.add_argument("--run-results", default=REPO / "target" / "run_results.json", type=Path)
    args = parser.parse_args(argv)
    print(summary(args.warehouse, args.landing, args.run_results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
