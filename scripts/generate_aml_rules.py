"""Write docs/aml_rules.md, the compliance and risk rules, from the code that runs them.

Each rule is stated once in the project: its catalogue row (seed
``seeds/compliance/compliance_rules.csv``: category, severity, what fires it, the dbt vars of
its thresholds), its thresholds (``vars`` of ``dbt_project.yml``, with the comment above them)
and the one intermediate model that detects it (the model whose SQL names the rule; its grain
and detection point from the model's YAML description). This script puts those together for
readers; ``tests/python/test_definitions_docs.py`` fails when the page is stale or a rule has
no model. Change a rule, then run

    .venv/bin/python scripts/generate_aml_rules.py

``--check`` exits 1 (and writes nothing) when docs/aml_rules.md is not what it would write.
"""

from __future__ import annotations

import csv
import functools
import re
import sys
import textwrap
from pathlib import Path

import yaml

from tooling.generated_files import page_main

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / "docs" / "aml_rules.md"
RULES_SEED = Path("seeds/compliance/compliance_rules.csv")
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
VAR_LINE = re.compile(r"^  (\w+):\s*(\S.*?)\s*$")
COMMENT_LINE = re.compile(r"^  #\s?(.*)$")
# A comment line that opens the description of one var group: "structuring: at least N ...".
GROUP_OPENER = re.compile(r"^[a-z_]+:\s")

SOURCE_TITLES = {
    "rule": "Rules of this project",
    "data_quality": "Data-quality alerts (financial integrity)",
    "system": "Alerts of the exchange's compliance monitoring (`compliance_alerts` source)",
    "security": "Alerts of the security systems (`security_events` source)",
}

INTRO = """\
Every alert in the queue (`fct_compliance_alerts`) comes from one of the rules below. This page
is generated from the rule catalogue, the thresholds and the models; the reasoning behind the
choices (one alert per pattern, stable ids, the meaning of one IP address, known limits, the
alert-flood guard) is the doc block [`compliance_overview`](metrics.md#compliance_overview).

## How every rule reads its data

- **Amounts** are in USD at the transaction's own time (`fct_transactions.amount_usd`, absolute
  value: withdrawals are negative in the ledger), valued as in
  [kpis.md](kpis.md#valuation-in-usd). A transfer whose asset has no USD rate yet never meets a
  threshold.
- **Only completed** deposits and withdrawals count (`int_transfers_completed`); pending and
  failed ones are never judged.
- **Point in time.** A transaction is judged by the facts in force when it happened: the FATF
  lists of its date (seed `fatf_high_risk_countries`, one row per country and listing period,
  back to February 2019; an older transaction is judged on the earliest period and its
  `alert_details` says so), the user's country of residence then (`int_user_country_history`)
  and the logins of the 24 hours before it.
- **Windows include both ends**: an event exactly 24 hours (10 minutes, 60 seconds, 30 days)
  after the one that opens a window is inside it, one second more is not; a dormancy of exactly
  180 days counts ("180 days or more").
  **Amounts** are "at least" except `daily_aggregate` and the withdrawal limit ("more than").
- **Days** are UTC calendar days.
- **One alert per hit**, never twice: `alert_id` is a hash of the rule, the user and the facts
  that define the hit (`hit_key`), so re-running or rebuilding never duplicates an alert and an
  alert keeps its id as newer data arrives. A window rule raises one alert per pattern: a run of
  ten structured deposits is one alert.
- **Thresholds** are dbt vars (defaults below, in `dbt_project.yml`); override one with
  `dbt build --vars '{large_transaction_min_usd: 15000}'`.
- A rule alert starts with `investigation_status = 'pending'` and `disposition` NULL (system
  alerts keep their own); analysts record decisions with `python -m compliance review`
  ([casework.md](casework.md)).
- The data-quality alerts come from the ledger checks of
  [reliability.md](reliability.md#financial-integrity).
"""


def rule_catalogue(repo: Path = REPO) -> list[dict[str, str]]:
    with open(repo / RULES_SEED, newline="") as f:
        return list(csv.DictReader(f))


def threshold_vars(repo: Path = REPO) -> dict[str, tuple[str, str]]:
    """var -> (default as written, the comment above its group) for every top-level dbt var.

    A comment block describes the vars that follow it up to the next comment block; within a
    block, a line naming a group (``structuring: ...``) starts the description afresh, so
    section markers above it are left out.
    """
    found: dict[str, tuple[str, str]] = {}
    comment: list[str] = []
    in_comment = False
    in_vars = False
    for line in (repo / "dbt_project.yml").read_text().splitlines():
        if line.startswith("vars:"):
            in_vars = True
            continue
        if in_vars and line and not line.startswith(" "):
            break
        if not in_vars:
            continue
        if match := COMMENT_LINE.match(line):
            if not in_comment or GROUP_OPENER.match(match.group(1)):
                comment, in_comment = [], True
            comment.append(match.group(1))
        elif match := VAR_LINE.match(line):
            in_comment = False
            found[match.group(1)] = (match.group(2), " ".join(comment))
    return found


def model_descriptions(repo: Path = REPO) -> dict[str, str]:
    described: dict[str, str] = {}
    for path in sorted((repo / "models").glob("**/*.yml")):
        for model in (yaml.load(path.read_text(), Loader=LOADER) or {}).get("models") or []:
            described[model["name"]] = " ".join((model.get("description") or "").split())
    return described


def implementing_models(rule: str, repo: Path = REPO) -> list[str]:
    """The intermediate models whose SQL names the rule as a literal."""
    literal = f"'{rule}'"
    return sorted(name for name, sql in intermediate_sql(repo).items() if literal in sql)


@functools.lru_cache(maxsize=4)
def intermediate_sql(repo: Path = REPO) -> dict[str, str]:
    """model name -> SQL of every intermediate model, read once per repository and run."""
    return {
        path.stem: path.read_text()
        for path in sorted((repo / "models" / "intermediate").glob("**/*.sql"))
    }


def _fill(text: str) -> str:
    return textwrap.fill(text, width=95, break_long_words=False, break_on_hyphens=False)


def render(repo: Path = REPO) -> str:
    catalogue = rule_catalogue(repo)
    variables = threshold_vars(repo)
    descriptions = model_descriptions(repo)
    lines = [
        "# Compliance and risk rules",
        "",
        "<!-- GENERATED by scripts/generate_aml_rules.py from the rule catalogue",
        "     (seeds/compliance/compliance_rules.csv), the vars of dbt_project.yml and the models.",
        "     Do not edit: run the script. -->",
        "",
        INTRO,
    ]
    missing = []
    for source, title in SOURCE_TITLES.items():
        rows = [row for row in catalogue if row["alert_source"] == source]
        if not rows:
            continue
        lines += [f"## {title}", ""]
        if source in ("system", "security"):
            lines += [
                _fill(
                    "Loaded as delivered and shown beside the rule alerts (`alert_source = "
                    f"'{source}'`), with the severity below unless the event carries its own."
                ),
                "",
                "| alert type | category | default severity | what it is |",
                "| --- | --- | --- | --- |",
            ]
            lines += [
                f"| `{row['rule_name']}` | {row['rule_category']} | {row['default_severity']} | "
                f"{row['description']} |"
                for row in rows
            ]
            lines.append("")
            continue
        lines += [
            "| rule | category | severity | fires when | model |",
            "| --- | --- | --- | --- | --- |",
        ]
        for row in rows:
            models = implementing_models(row["rule_name"], repo)
            if not models:
                missing.append(row["rule_name"])
            lines.append(
                f"| [`{row['rule_name']}`](#{row['rule_name']}) | {row['rule_category']} | "
                f"{row['default_severity']} | {row['description']} | "
                f"{', '.join(f'`{m}`' for m in models)} |"
            )
        lines.append("")
        for row in rows:
            name = row["rule_name"]
            lines += [
                f'<a id="{name}"></a>',
                "",
                f"### `{name}`",
                "",
                _fill(row["description"]),
                "",
            ]
            for model in implementing_models(name, repo):
                text = descriptions.get(model) or "(no description)"
                lines += [_fill(f"Detected by `{model}`: {text}"), ""]
            names = row["threshold_vars"].split()
            if names:
                lines += ["| var | default |", "| --- | --- |"]
                for var in names:
                    if var not in variables:
                        missing.append(f"{name}: var {var}")
                        continue
                    lines.append(f"| `{var}` | {variables[var][0]} |")
                lines.append("")
                comments = dict.fromkeys(variables[v][1] for v in names if v in variables)
                for comment in comments:
                    if comment:
                        lines += [_fill(f"From `dbt_project.yml`: {comment}"), ""]
    if missing:
        raise ValueError(f"rules without a model or var: {', '.join(missing)}")
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    script = "scripts/generate_aml_rules.py"
    return page_main(argv, __doc__.splitlines()[0], OUTPUT, render, script)


if __name__ == "__main__":
    sys.exit(main())
