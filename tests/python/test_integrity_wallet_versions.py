"""The no-negative-balance invariant (docs/reliability.md#financial-integrity) holds for every
delivered version of a wallet, not only the latest: a balance that went negative and was corrected
by a later version is still reported by tests/dbt/assert_no_negative_balances.sql."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

from .conftest import REPO, project_env


def test_a_negative_balance_in_an_older_wallet_version_is_reported(tiny_warehouse, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(tiny_warehouse.warehouse, warehouse)
    env = project_env(tmp_path, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        # A wallet with at least two versions: its oldest one goes negative, its latest
        # (what stg_exchange__wallets keeps) stays as delivered.
        row = con.execute("""
            select wallet_id, min(updated_at) as first_at, max(updated_at) as last_at
            from raw.wallets
            group by wallet_id
            having count(distinct updated_at) >= 2
            order by wallet_id
            limit 1
        """).fetchone()
        assert row, "the tiny scale delivers wallets in several versions"
        wallet, first_at, last_at = row
        con.execute(
            "update raw.wallets set balance = -5, locked_balance = -1"
            " where wallet_id = ? and updated_at = ?",
            [wallet, first_at],
        )
        (latest_balance,) = con.execute(
            "select balance from staging.stg_exchange__wallets where wallet_id = ?", [wallet]
        ).fetchone()
        assert latest_balance >= 0, "the latest version alone shows nothing wrong"

    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "test",
            "--select",
            "assert_no_negative_balances",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    # a warning that still fails the command (the financial-integrity end-of-run hook)
    assert result.returncode != 0, result.stdout[-3000:]
    assert "WARN 2 assert_no_negative_balances" in result.stdout, result.stdout[-3000:]

    with duckdb.connect(str(warehouse), read_only=True) as con:
        stored = con.execute("""
            select source_table, row_id, column_name, value, recorded_at
            from dbt_test__audit.assert_no_negative_balances
            order by column_name
        """).fetchall()
    assert [(s, r, c, float(v), t) for s, r, c, v, t in stored] == [
        ("wallets", wallet, "balance", -5.0, first_at),
        ("wallets", wallet, "locked_balance", -1.0, first_at),
    ]
    assert first_at < last_at
