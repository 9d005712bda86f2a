"""The KPI and compliance-rule pages hold: docs/aml_rules.md is generated from the rule
catalogue, the vars and the models (and fails on a rule no model detects); docs/kpis.md links
every KPI doc block and names only models that exist."""

from __future__ import annotations

import csv
import re
import shutil
import sys

import pytest

from .conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))
import generate_aml_rules as aml_rules  # noqa: E402
import generate_metrics_dictionary as metrics_dictionary  # noqa: E402

DOCS = REPO / "docs"
MODEL_NAME = re.compile(r"`((?:stg|int|fct|dim|rpt)_\w+)`")
# The doc blocks that define a KPI, retention, funnel, churn-risk or market figure.
KPI_BLOCK_FILES = (
    "models/marts/_metrics__docs.md",
    "models/marts/market/_market__docs.md",
)
KPI_BLOCKS_ELSEWHERE = (
    "metric_registration_to_kyc_pct",
    "metric_kyc_to_first_trade_pct",
    "metric_retention_7d_rate",
    "metric_retention_30d_rate",
    "metric_cohort_active_share",
    "churn_risk_level",
)


def model_names() -> set[str]:
    return {path.stem for path in (REPO / "models").glob("**/*.sql")}


def test_aml_rules_page_is_generated():
    assert (DOCS / "aml_rules.md").read_text() == aml_rules.render(), (
        "docs/aml_rules.md is stale: run .venv/bin/python scripts/generate_aml_rules.py"
    )


def test_every_rule_is_on_the_page_with_its_model_and_thresholds():
    text = aml_rules.render()
    variables = aml_rules.threshold_vars()
    for row in aml_rules.rule_catalogue():
        if row["alert_source"] in ("rule", "data_quality"):
            section = text.split(f'<a id="{row["rule_name"]}"></a>', 1)[1].split("<a id=", 1)[0]
            assert "Detected by `int_" in section, row["rule_name"]
            for var in row["threshold_vars"].split():
                assert f"| `{var}` | {variables[var][0]} |" in section
    assert variables["large_transaction_min_usd"][0] == "10000"
    assert variables["structuring_min_count"][1].startswith("structuring:")


def test_a_rule_without_a_model_fails_the_page(tmp_path):
    for relative in ("dbt_project.yml", "models", "seeds"):
        source = REPO / relative
        if source.is_dir():
            shutil.copytree(source, tmp_path / relative)
        else:
            shutil.copy(source, tmp_path / relative)
    seed = tmp_path / aml_rules.RULES_SEED
    with open(seed, "a", newline="") as f:
        csv.writer(f).writerow(
            ["rule", "wash_trading", "market_abuse", "high", "", "", "Nobody detects this."]
        )
    with pytest.raises(ValueError, match="wash_trading"):
        aml_rules.render(tmp_path)


def test_kpi_page_links_every_kpi_doc_block_and_names_real_models():
    text = (DOCS / "kpis.md").read_text()
    linked = set(re.findall(r"\(metrics\.md#(\w+)\)", text))
    blocks = {
        name
        for relative in KPI_BLOCK_FILES
        for name, _ in metrics_dictionary.parse_doc_blocks(REPO / relative)
        if name.startswith(("metric_", "market_"))
    }
    assert blocks, "no KPI doc blocks found: the check would prove nothing"
    unlinked = sorted((blocks | set(KPI_BLOCKS_ELSEWHERE)) - linked)
    assert not unlinked, f"docs/kpis.md does not link: {unlinked}"
    unknown = sorted(set(MODEL_NAME.findall(text)) - model_names())
    assert not unknown, f"docs/kpis.md names models that do not exist: {unknown}"
    tests = set(re.findall(r"`(assert_\w+)`", text))
    missing = sorted(t for t in tests if not (REPO / "tests" / "dbt" / f"{t}.sql").exists())
    assert not missing, f"docs/kpis.md names dbt tests that do not exist: {missing}"
