"""The first hour of a new user (issue 23): no dead ends, and a default demo that reads like an
exchange.

- `make help` prints the values of the variables its descriptions name, not `$(NAME)`.
- `make dashboard` without a warehouse stops with what to run before installing anything.
- The loader warns when the landing directory holds no file at all.
- The closing message of `make pipeline` names each dbt warning, its row count and the
  simulator's planted cases behind it, and says where the marts, docs and dashboard are.
- The size-dependent KPI targets are scaled to the simulated user base and say so; the ratios
  are not (tiny build).
- profiles.yml is committed, so dbt finds its profile in a fresh clone.
"""

from __future__ import annotations

import csv
import decimal
import json
import os
import subprocess
import sys
import time

import duckdb
import pytest

from tests.python.conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))
import pipeline_summary  # noqa: E402


def make(*args: str, **env: str) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )


def test_make_help_prints_the_values_of_variables(tmp_path):
    warehouse = str(tmp_path / "my.duckdb")
    out = make("help", EXCHANGE_WAREHOUSE=warehouse).stdout
    assert "$(" not in out
    dashboard = next(line for line in out.splitlines() if line.strip().startswith("make dashboard"))
    assert warehouse in dashboard


def test_make_dashboard_without_a_warehouse_stops_before_installing(tmp_path):
    venv = tmp_path / "venv"  # what `install` would create
    result = make("dashboard", f"VENV={venv}", EXCHANGE_WAREHOUSE=str(tmp_path / "missing.duckdb"))
    assert result.returncode != 0
    assert "No warehouse at" in result.stdout and "make pipeline" in result.stdout
    assert not venv.exists(), "make dashboard installed before checking for a warehouse"


def test_an_empty_landing_directory_is_a_visible_warning(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ingestion.loaders",
            "--quiet",
            "--landing",
            str(landing),
            "--warehouse",
            str(tmp_path / "w.duckdb"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0
    assert "no landing files in" in result.stderr and "make simulate" in result.stderr
    assert "no landing files in" in result.stdout  # in the report too


def test_pipeline_summary_names_the_planted_warnings(tmp_path):
    landing = tmp_path / "landing"
    (landing / "_simulator").mkdir(parents=True)
    with open(landing / "_simulator" / "planted_cases.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["case_id", "kind", "rule"])
        writer.writerows(
            [["MKT-C1", "market", "candle_mismatch"], ["MKT-C2", "market", "candle_mismatch"]]
        )
    run_results = tmp_path / "run_results.json"
    prefix = "test.crypto_exchange."
    run_results.write_text(
        json.dumps(
            {
                "results": [
                    {
                        "unique_id": prefix + "assert_fill_candles_reconcile_with_market_data",
                        "status": "warn",
                        "failures": 2,
                    },
                    {
                        "unique_id": prefix + "assert_no_negative_balances",
                        "status": "pass",
                        "failures": 0,
                    },
                ]
            }
        )
    )
    text = pipeline_summary.summary("w.duckdb", landing, run_results)
    assert "WARN assert_fill_candles_reconcile_with_market_data: 2 row(s)" in text
    assert "Planted by the simulator: 2 case(s) of candle_mismatch" in text
    assert "assert_no_negative_balances" not in text
    assert "simulator plants discrepancies on purpose" in text  # the test's own comment
    for where in ("w.duckdb", "make docs", "make dashboard"):
        assert where in text


def test_pipeline_summary_reads_the_last_dagster_runs_dbt_steps(tmp_path):
    """make pipeline runs dbt through Dagster: each dbt step of a run writes
    target/<step>-<run>-<hash>/run_results.json; the summary reads those of the newest run."""

    def results(folder: str, name: str, age: float) -> None:
        path = tmp_path / folder / "run_results.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        unique_id = f"test.crypto_exchange.{name}.0123456789"
        path.write_text(json.dumps({"results": [{"unique_id": unique_id, "status": "warn"}]}))
        stamp = time.time() - age
        os.utime(path, (stamp, stamp))

    results("dbt_models-aaaa111-0f0f0f0", "old_warning", age=600)
    results("dbt_models-bbbb222-1e1e1e1", "expression_is_true_new_models_warning", age=10)
    results("dbt_upstream_models-bbbb222-2d2d2d2", "new_upstream_warning", age=60)
    found = pipeline_summary.last_run_results(tmp_path)
    assert [p.parent.name.split("-")[1] for p in found] == ["bbbb222", "bbbb222"]
    names = [w["name"] for w in pipeline_summary.warnings(found)]
    assert names == ["expression_is_true_new_models_warning", "new_upstream_warning"]


def test_profiles_yml_is_in_the_repository():
    tracked = subprocess.run(
        ["git", "ls-files", "profiles.yml"], cwd=REPO, capture_output=True, text=True
    ).stdout
    assert tracked.strip() == "profiles.yml"


@pytest.mark.slow
def test_size_dependent_targets_scale_with_the_user_base(tiny_warehouse):
    with duckdb.connect(str(tiny_warehouse.warehouse), read_only=True) as con:
        rows = con.execute("""
            select k.kpi_date, k.registered_users_to_date, k.kpi_target_scale, k.is_scaled_target,
                   k.active_traders_target, k.trading_volume_usd_target, k.revenue_usd_target,
                   k.revenue_per_trade_usd_target, k.fill_rate_target,
                   (select count(*) from raw.users u
                    where cast(u.created_at as date) <= k.kpi_date) as raw_users
            from marts.fct_daily_exchange_kpis as k order by k.kpi_date desc limit 1
        """).fetchall()[0]
        design = {
            metric: float(value)
            for metric, value in con.sql(
                "select metric, target_value from reference.kpi_targets"
            ).fetchall()
        }
    # money is DECIMAL in the marts: compared as floats
    (_, registered, scale, scaled, dau_t, vol_t, rev_t, rpt_t, fill_t, raw_users) = (
        float(v) if isinstance(v, decimal.Decimal) else v for v in rows
    )
    assert scaled is True
    assert registered > 0 and registered <= raw_users
    assert scale == pytest.approx(registered / 150_000, rel=1e-6)
    assert dau_t == pytest.approx(design["active_traders"] * scale, rel=1e-6)
    assert vol_t == pytest.approx(design["trading_volume_usd"] * scale, rel=1e-6)
    assert rev_t == pytest.approx(design["revenue_usd"] * scale, rel=1e-6)
    # ratios are never scaled
    assert rpt_t == pytest.approx(design["revenue_per_trade_usd"])
    assert fill_t == pytest.approx(design["fill_rate"])


@pytest.mark.slow
def test_docs_catalog_has_row_counts(tiny_warehouse):
    from tests.python.conftest import dbt

    dbt(["docs", "generate"], tiny_warehouse.env)
    catalog = json.loads(
        (tiny_warehouse.root / "dbt_target" / "catalog.json").read_text(encoding="utf-8")
    )
    kpis = catalog["nodes"]["model.crypto_exchange.fct_daily_exchange_kpis"]["stats"]
    with duckdb.connect(str(tiny_warehouse.warehouse), read_only=True) as con:
        rows = con.execute("select count(*) from marts.fct_daily_exchange_kpis").fetchall()[0][0]
    assert kpis["row_count"]["include"] is True
    assert kpis["row_count"]["value"] == rows


def test_the_postgres_key_fix_works_when_copied_with_the_variable_unset(postgres_dsn):
    """The Fix line of docs/troubleshooting.md, run by a shell without
    DBT_ENV_SECRET_PII_HASH_KEY, gives the session the development key (as the DuckDB target
    uses), not an empty one."""
    import os
    import re

    text = (REPO / "docs" / "troubleshooting.md").read_text(encoding="utf-8")
    fix = re.search(r'^Fix: `(PGOPTIONS="[^"]+") dbt build --target postgres`', text, re.M)
    assert fix, "the PostgreSQL key fix is no longer in docs/troubleshooting.md"
    assert fix[1] in (REPO / "macros" / "target_setup.sql").read_text(encoding="utf-8").replace(
        '\\"', '"'
    ), "the error message and the docs suggest different fixes"
    probe = (
        "import psycopg2, sys; c = psycopg2.connect(sys.argv[1]); cur = c.cursor(); "
        "cur.execute(\"select current_setting('exchange.pii_hash_key', true)\"); "
        "print(cur.fetchone()[0])"
    )
    env = {
        k: v for k, v in os.environ.items() if k not in ("DBT_ENV_SECRET_PII_HASH_KEY", "PGOPTIONS")
    }
    done = subprocess.run(
        [
            "bash",
            "-c",
            f'export {fix[1]}; exec "$0" -c "$1" "$2"',
            sys.executable,
            probe,
            postgres_dsn,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "local-development-key-change-me"
