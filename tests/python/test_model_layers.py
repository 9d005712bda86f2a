"""Every fact stated once in the dbt models: layers read downwards, one valuation, one median.

Static checks on the SQL files (no warehouse): they read each model's ``ref()`` calls.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "models"
MACROS = REPO / "macros"
REF = re.compile(r"""ref\(\s*['"](\w+)['"]\s*\)""")


def _models(root: Path = MODELS) -> dict[str, Path]:
    return {path.stem: path for path in root.rglob("*.sql")}


def _refs(path: Path) -> set[str]:
    return set(REF.findall(path.read_text()))


def _intermediates_reading_marts(root: Path = MODELS) -> dict[str, set[str]]:
    models = _models(root)

    def layer(path: Path) -> str:
        return path.relative_to(root).parts[0]

    found = {}
    for name, path in models.items():
        if layer(path) != "intermediate":
            continue
        marts = {ref for ref in _refs(path) if ref in models and layer(models[ref]) == "marts"}
        if marts:
            found[name] = marts
    return found


def test_intermediate_models_never_read_marts():
    assert _intermediates_reading_marts() == {}


def test_an_intermediate_reading_a_mart_is_found(tmp_path):
    (tmp_path / "intermediate").mkdir()
    (tmp_path / "marts").mkdir()
    (tmp_path / "marts" / "fct_facts.sql").write_text("select 1 as x")
    (tmp_path / "intermediate" / "int_ok.sql").write_text("select * from {{ ref('stg_x') }}")
    (tmp_path / "intermediate" / "int_bad.sql").write_text("select * from {{ ref('fct_facts') }}")
    assert _intermediates_reading_marts(tmp_path) == {"int_bad": {"fct_facts"}}


def test_the_usd_valuation_is_stated_once():
    """Only the rate model reads the stablecoin seed; amounts are valued through usd_rate_join,
    the one join of int_asset_usd_rates_hourly (rpt_users_near_tier_boundary reads the latest
    rate of each asset, not a rate by hour)."""
    models = _models()
    seed_readers = {name for name, path in models.items() if "stablecoins" in _refs(path)}
    assert seed_readers == {"int_asset_usd_rates_hourly"}
    rate_readers = {
        name for name, path in models.items() if "int_asset_usd_rates_hourly" in _refs(path)
    }
    assert rate_readers == {"rpt_users_near_tier_boundary"}
    joiners = {name for name, path in models.items() if "usd_rate_join(" in path.read_text()}
    assert {
        "int_trades_valued",
        "int_fee_collections_valued",
        "int_transactions_valued",
        "fct_external_price_deviations_hourly",
        "fct_pair_liquidity_daily",
    } <= joiners


def test_one_median_and_one_anomaly_scoring():
    macros = "\n".join(path.read_text() for path in MACROS.rglob("*.sql"))
    sql = "\n".join(path.read_text() for path in MODELS.rglob("*.sql"))
    assert "lifecycle_median" not in macros + sql
    assert re.search(r"\bmedian\(", sql) is None, "medians go through percentile_cont(x, 0.5)"
    for model in ("fct_kpi_anomalies", "fct_source_volume_anomalies"):
        text = _models()[model].read_text()
        assert "robust_anomaly_scores(" in text
        assert "robust_spread(" not in text, "the scoring lives in the macro only"


def test_volume_share_has_one_owner():
    """A pair's share of the day's volume is computed in fct_pair_daily_performance only; the
    other pair marts join it (fct_asset_daily_performance computes an asset's share)."""
    window_share = re.compile(r"over \(partition by [^\n]*\n?\s*as volume_share\b")
    computing = {name for name, path in _models().items() if window_share.search(path.read_text())}
    assert computing == {"fct_pair_daily_performance", "fct_asset_daily_performance"}, computing
