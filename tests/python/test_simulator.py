"""The exchange simulator (`simulator/`): determinism, the landing contract, and the
financial invariants of docs/reliability.md on the tiny scale, checked with DuckDB over the
files."""

from __future__ import annotations

import csv
import filecmp
import gzip
import json
import re
from pathlib import Path

import duckdb
import pytest

from ingestion.contract import TABLES
from simulator import simulate

RULES = (
    "large_transaction",
    "daily_aggregate",
    "structuring",
    "rapid_in_out",
    "high_risk_country",
    "dormant_reactivation",
    "new_account_drain",
    "shared_ip",
    "failed_login_burst",
    "self_trade",
)


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sim") / "landing"
    simulate(out, scale="tiny", seed=42)
    return out


@pytest.fixture(scope="module")
def con(landing) -> duckdb.DuckDBPyConnection:
    """Every table loaded as the contract types it: `<table>_all` (with _file, _row, _bad) and
    `<table>` (valid rows, exact duplicates dropped)."""
    db = duckdb.connect()
    db.execute("SET TimeZone='UTC'")
    for table in TABLES:
        load(db, landing, table)
    return db


def files(landing: Path, table: str) -> list[Path]:
    return sorted(p for p in (landing / table).iterdir() if p.is_file())


def load(db, landing: Path, table: str) -> None:
    spec = TABLES[table]
    names = spec.column_names
    parts = []
    as_varchar = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in names) + "}"
    for path in files(landing, table):
        name = path.name
        if name.endswith(".parquet"):
            src = f"read_parquet('{path}')"
            raw = {
                c: (
                    f"strftime(\"{c}\", '%Y-%m-%dT%H:%M:%S.%f')"
                    if spec.column(c).type == "timestamp"
                    else f'"{c}"::VARCHAR'
                )
                for c in names
            }
        elif ".csv" in name:
            src = (
                f"read_csv('{path}', all_varchar=true, header=true, delim=',', quote='\"', "
                f"escape='\"', auto_detect=false, columns={as_varchar})"
            )
            raw = {c: f'"{c}"' for c in names}
        else:
            src = f"read_json('{path}', format='newline_delimited', columns={as_varchar})"
            raw = {c: f'"{c}"' for c in names}
        parts.append(
            f"SELECT {', '.join(f'{e} AS {c}' for c, e in raw.items())}, '{name}' AS _file, "
            f"row_number() OVER () AS _row FROM {src}"
        )
    db.execute(f"CREATE TABLE {table}_raw AS " + " UNION ALL ".join(parts))
    typed, bad = [], []
    for c in spec.columns:
        q = f'"{c.name}"'
        if c.type == "timestamp":
            e = f"TRY_CAST({q} AS TIMESTAMP)"
        elif c.type == "decimal":
            e = f"TRY_CAST({q} AS DECIMAL(20,8))"
        elif c.type == "integer":
            e = f"TRY_CAST({q} AS INTEGER)"
        elif c.type == "boolean":
            e = f"TRY_CAST({q} AS BOOLEAN)"
        else:
            e = q
        typed.append(f"{e} AS {q}")
        bad.append(f"({q} IS NOT NULL AND {e} IS NULL)")
        if c.required:
            bad.append(f"{q} IS NULL")
        if c.enum:
            bad.append(f"({q} IS NOT NULL AND {q} NOT IN ({', '.join(repr(v) for v in c.enum)}))")
        if c.positive:
            bad.append(f"({e} <= 0)")
    db.execute(
        f"CREATE TABLE {table}_all AS SELECT {', '.join(typed)}, _file, _row, "
        f"coalesce({' OR '.join(bad)}, false) AS _bad FROM {table}_raw"
    )
    cols = ", ".join(f'"{c}"' for c in names)
    db.execute(
        f"CREATE TABLE {table} AS SELECT {cols}, min(_file) AS _file, min(_row) AS _row "
        f"FROM {table}_all WHERE NOT _bad GROUP BY ALL"
    )


def latest(db, table: str, key: str, version: str | None) -> str:
    order = f"{version} DESC, _file DESC, _row DESC" if version else "_file DESC, _row DESC"
    return (
        f"(SELECT * FROM {table} "
        f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY {order}) = 1)"
    )


def planted(landing: Path) -> list[dict]:
    with open(landing / "_simulator" / "planted_cases.csv", newline="") as fh:
        return list(csv.DictReader(fh))


# ---------------------------------------------------------------------------------- the files
def test_same_seed_gives_byte_identical_files(landing, tmp_path):
    again = tmp_path / "again"
    simulate(again, scale="tiny", seed=42)
    first = sorted(p.relative_to(landing) for p in landing.rglob("*") if p.is_file())
    second = sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    assert first == second
    different = [str(p) for p in first if not filecmp.cmp(landing / p, again / p, shallow=False)]
    assert different == []


def test_every_table_has_a_folder_with_exactly_the_contract_columns(landing):
    for table, spec in TABLES.items():
        paths = files(landing, table)
        assert paths, f"no files for {table}"
        for path in paths:
            name = path.name
            assert name.startswith(f"{table}_") and name.endswith(
                (".csv", ".csv.gz", ".parquet", ".jsonl", ".jsonl.gz")
            )
            if name.endswith(".parquet"):
                header = duckdb.sql(f"DESCRIBE SELECT * FROM '{path}'").fetchall()
                columns = [r[0] for r in header]
            else:
                opener = gzip.open if name.endswith(".gz") else open
                with opener(path, "rt", encoding="utf-8") as fh:
                    first = fh.readline()
                columns = next(csv.reader([first])) if ".csv" in name else list(json.loads(first))
            assert columns == spec.column_names, f"{name}: {columns}"


def test_timestamps_come_with_z_offset_and_no_zone(landing):
    seen = set()
    for table in ("users", "user_kyc", "orders", "fee_collections"):
        for path in files(landing, table):
            opener = gzip.open if path.name.endswith(".gz") else open
            with opener(path, "rt") as fh:
                fh.readline()
                line = fh.readline()
            for suffix, mark in (("Z", 'Z"'), ("Z", "Z,"), ("+00:00", "+00:00")):
                if mark in line:
                    seen.add(suffix)
            if "T" in line and "Z" not in line and "+00:00" not in line:
                seen.add("none")
    assert seen == {"Z", "+00:00", "none"}


def test_manifest_counts_the_rows(landing, con):
    manifest = json.loads((landing / "_simulator" / "manifest.json").read_text())
    for table in TABLES:
        (n,) = con.execute(f"SELECT count(*) FROM {table}_all").fetchone()
        assert manifest["row_counts"][table] == n, table


# ---------------------------------------------------------------------------------- faults
def test_bad_rows_are_exactly_the_labelled_malformed_rows(landing, con):
    labelled = {
        (r["file_name"], int(r["row_number"]))
        for r in planted(landing)
        if r["rule"] == "malformed_row"
    }
    assert {name.split("_")[0] for name, _ in labelled} >= {"trades", "transactions", "orders"}
    found = set()
    for table in TABLES:
        found |= set(con.execute(f"SELECT _file, _row FROM {table}_all WHERE _bad").fetchall())
    assert found == labelled


def test_replayed_and_late_rows_are_labelled(landing, con):
    cases = {r["case_id"]: r for r in planted(landing)}
    for table, key in (("trades", "trade_id"), ("transactions", "transaction_id")):
        case = cases[f"FLT-REPLAY-{table}"]
        ids = case["reference_ids"].split(";")
        rows = con.execute(
            f"SELECT {key}, count(*) FROM {table}_all WHERE {key} IN ({', '.join(map(repr, ids))}) "
            f"GROUP BY 1"
        ).fetchall()
        assert len(rows) == len(ids) and all(n == 2 for _, n in rows)
        # exact duplicates: they collapse to one valid row each
        (distinct,) = con.execute(
            f"SELECT count(*) FROM {table} WHERE {key} IN ({', '.join(map(repr, ids))})"
        ).fetchone()
        assert distinct == len(ids)
    late = cases["FLT-LATE-trades"]
    (n, day, files_) = con.execute(
        "SELECT count(*), max(executed_at)::DATE::VARCHAR, string_agg(DISTINCT _file, ',') "
        "FROM trades "
        f"WHERE trade_id IN ({', '.join(map(repr, late['reference_ids'].split(';')))})"
    ).fetchone()
    assert n == len(late["reference_ids"].split(";")) and files_ == late["file_name"]
    assert day < late["file_name"].split("_")[1]


# ---------------------------------------------------------------------------------- ledger
def test_balance_chains_hold_and_never_go_negative(con):
    broken = con.execute("""
        WITH chain AS (
            SELECT *, lag(balance_after) OVER w AS prev_after
            FROM transactions
            -- chain order: time, and in a tie the trade leg before its fee (never id order)
            WINDOW w AS (PARTITION BY user_id, asset
                         ORDER BY created_at, transaction_type = 'fee', transaction_id)
        )
        SELECT
            count(*) FILTER (WHERE status = 'completed'
                             AND balance_after <> balance_before + amount),
            count(*) FILTER (WHERE status <> 'completed' AND balance_after <> balance_before),
            count(*) FILTER (WHERE prev_after IS NOT NULL AND balance_before <> prev_after),
            count(*) FILTER (WHERE prev_after IS NULL AND balance_before <> 0),
            count(*) FILTER (WHERE balance_after < 0 OR balance_before < 0),
            count(*)
        FROM chain
    """).fetchone()
    assert broken[:5] == (0, 0, 0, 0, 0) and broken[5] > 1000


def test_some_fees_share_their_trade_legs_timestamp_ids_either_way(con):
    """docs/reliability.md: ties are in chain order, not id order. Every simulated day with
    fills has ties, each a trade leg and its own fee (same fill), the fee's id first in some,
    last in others; nothing else shares a timestamp within a wallet."""
    ties = con.execute("""
        SELECT
            cast(created_at AS DATE) AS tie_day,
            count(*) AS row_count,
            count(*) FILTER (WHERE transaction_type = 'trade') AS legs,
            count(*) FILTER (WHERE transaction_type = 'fee') AS fees,
            count(DISTINCT reference_id) AS fills,
            min(transaction_id) FILTER (WHERE transaction_type = 'fee')
                < min(transaction_id) FILTER (WHERE transaction_type = 'trade') AS fee_id_first
        FROM transactions
        GROUP BY user_id, asset, created_at
        HAVING count(*) > 1
    """).fetchall()
    assert ties, "no fee shares its trade leg's timestamp"
    assert all((n, legs, fees, fills) == (2, 1, 1, 1) for _, n, legs, fees, fills, _ in ties)
    assert {first for *_, first in ties} == {True, False}
    (fill_days,) = con.execute(
        "SELECT count(DISTINCT cast(executed_at AS DATE)) FROM trades"
    ).fetchone()
    assert len({day for day, *_ in ties}) == fill_days


def test_wallets_equal_the_last_completed_balance(con):
    rows = con.execute(f"""
        WITH last_tx AS (
            SELECT user_id, asset,
                   arg_max(balance_after, (created_at, transaction_type = 'fee')) AS balance,
                   max(created_at) AS at
            FROM transactions WHERE status = 'completed' GROUP BY ALL
        ), w AS {latest(con, "wallets", "wallet_id", "updated_at")}
        SELECT
            count(*) FILTER (WHERE w.balance IS DISTINCT FROM t.balance),
            count(*) FILTER (WHERE w.updated_at IS DISTINCT FROM t.at),
            count(*) FILTER (WHERE w.balance < 0 OR w.locked_balance < 0
                             OR w.locked_balance > w.balance),
            count(*) FILTER (WHERE w.user_id IS NULL OR t.user_id IS NULL),
            count(*)
        FROM w FULL JOIN last_tx t USING (user_id, asset)
    """).fetchone()
    assert rows[:4] == (0, 0, 0, 0) and rows[4] > 100
    (dupes,) = con.execute(
        "SELECT count(*) FROM (SELECT user_id, asset FROM "
        f"{latest(con, 'wallets', 'wallet_id', 'updated_at')} GROUP BY ALL HAVING count(*) > 1)"
    ).fetchone()
    assert dupes == 0


def test_every_fill_moves_both_legs_and_its_fee(con):
    (missing,) = con.execute("""
        WITH legs AS (
            SELECT reference_id, count(*) FILTER (WHERE transaction_type = 'trade') AS trade_legs,
                   count(*) FILTER (WHERE transaction_type = 'fee') AS fee_rows,
                   sum(amount) FILTER (WHERE transaction_type = 'fee') AS fee_amount
            FROM transactions GROUP BY 1
        )
        SELECT count(*) FROM trades t LEFT JOIN legs l ON l.reference_id = t.trade_id
        WHERE l.trade_legs IS DISTINCT FROM 2 OR l.fee_rows IS DISTINCT FROM 1
           OR -l.fee_amount <> t.fee
    """).fetchone()
    assert missing == 0


# ---------------------------------------------------------------------------------- trading
def test_orders_filled_quantity_is_the_sum_of_their_fills(con):
    bad = con.execute(f"""
        WITH o AS {latest(con, "orders", "order_id", "updated_at")},
        f AS (SELECT order_id, sum(quantity) AS q, any_value(user_id) AS u, any_value(pair_id) AS p,
                     any_value(side) AS s, count(DISTINCT (user_id, pair_id, side)) AS variants
              FROM trades GROUP BY 1)
        SELECT
            count(*) FILTER (WHERE coalesce(f.q, 0) <> o.filled_quantity),
            count(*) FILTER (WHERE f.order_id IS NOT NULL AND (f.u <> o.user_id
                             OR f.p <> o.pair_id OR f.s <> o.side OR f.variants > 1)),
            count(*) FILTER (WHERE o.status = 'filled' AND o.filled_quantity <> o.quantity),
            count(*) FILTER (WHERE o.status = 'partial'
                             AND NOT (o.filled_quantity > 0 AND o.filled_quantity < o.quantity)),
            count(*) FILTER (WHERE o.status = 'pending' AND o.filled_quantity <> 0),
            count(*) FILTER (WHERE o.filled_quantity > o.quantity),
            count(*) FILTER (WHERE (o.order_type = 'market') <> (o.price IS NULL)),
            count(*) FILTER (WHERE o.created_at > o.updated_at),
            count(*) FILTER (WHERE o.order_id IS NULL),
            avg((o.filled_quantity > 0)::INT)
        FROM o FULL JOIN f USING (order_id)
    """).fetchone()
    assert bad[:9] == (0,) * 9
    assert 0.9 <= bad[9] <= 0.99, f"fill rate {bad[9]}"
    (versions,) = con.execute(
        "SELECT count(*) FROM (SELECT order_id FROM orders GROUP BY 1 "
        "HAVING count(DISTINCT _file) > 1)"
    ).fetchone()
    assert versions > 0, "some orders change after the day they were placed"


def test_each_fill_fee_follows_the_documented_rate(con):
    """Maker fills pay the pair's maker_fee_rate, taker fills the user's tier trading_fee_rate
    (the tier in force at executed_at); fee = round(quantity * price * rate, 8), quote asset."""
    bad = con.execute("""
        WITH tiers AS (
            SELECT user_id, user_tier_id, updated_at AS valid_from,
                   lead(updated_at) OVER (PARTITION BY user_id ORDER BY updated_at) AS valid_to
            FROM (SELECT DISTINCT user_id, user_tier_id, updated_at FROM users)
        )
        SELECT
            count(*) FILTER (WHERE t.fee <> round(t.quantity * t.price *
                CASE WHEN t.is_maker THEN p.maker_fee_rate ELSE ut.trading_fee_rate END, 8)),
            count(*) FILTER (WHERE t.fee_asset <> p.quote_asset),
            count(*) FILTER (WHERE ut.id IS NULL),
            count(*)
        FROM trades t
        JOIN trading_pairs p USING (pair_id)
        LEFT JOIN tiers ON tiers.user_id = t.user_id AND t.executed_at >= tiers.valid_from
             AND (tiers.valid_to IS NULL OR t.executed_at < tiers.valid_to)
        LEFT JOIN user_tiers ut ON ut.id = tiers.user_tier_id
    """).fetchone()
    assert bad[:3] == (0, 0, 0) and bad[3] > 500


def test_maker_and_taker_fills_pair_up(con):
    bad = con.execute("""
        SELECT count(*) FROM (
            SELECT pair_id, executed_at, price, quantity,
                   count(*) FILTER (WHERE is_maker) AS makers,
                   count(*) FILTER (WHERE NOT is_maker) AS takers,
                   count(DISTINCT side) AS sides
            FROM trades GROUP BY ALL
        ) WHERE makers <> takers OR sides <> 2
    """).fetchone()
    assert bad == (0,)


def test_fills_come_after_kyc_approval(con):
    (early,) = con.execute(f"""
        SELECT count(*) FROM trades t
        JOIN {latest(con, "user_kyc", "user_id", "updated_at")} k USING (user_id)
        WHERE k.verification_status <> 'approved' OR t.executed_at < k.approved_at
    """).fetchone()
    assert early == 0


def test_trading_fees_reconcile_with_trades_per_day_and_asset(con):
    diff = con.execute("""
        WITH t AS (SELECT executed_at::DATE AS day, fee_asset, sum(fee) AS fee, count(*) AS n
                   FROM trades GROUP BY ALL),
        f AS (SELECT collected_at::DATE AS day, fee_asset, sum(fee_amount) AS fee, count(*) AS n
              FROM fee_collections WHERE fee_type = 'trading_fee' GROUP BY ALL)
        SELECT count(*) FROM t FULL JOIN f USING (day, fee_asset)
        WHERE t.fee IS DISTINCT FROM f.fee OR t.n IS DISTINCT FROM f.n
    """).fetchone()
    assert diff == (0,)
    (wfees,) = con.execute("""
        SELECT count(*) FROM fee_collections f LEFT JOIN transactions t
          ON t.user_id = f.user_id AND t.transaction_type = 'fee'
         AND t.created_at = f.collected_at AND -t.amount = f.fee_amount
        WHERE f.fee_type = 'withdrawal_fee' AND t.transaction_id IS NULL
    """).fetchone()
    assert wfees == 0


def test_candles_match_taker_fills_except_the_planted_mismatches(landing, con):
    rebuilt = con.execute("""
        WITH f AS (SELECT * FROM trades WHERE NOT is_maker),
        c AS (
            SELECT pair_id, date_trunc('hour', executed_at) AS ts,
                   arg_min(price, (executed_at, trade_id)) AS o,
                   max(price) AS h, min(price) AS l, arg_max(price, (executed_at, trade_id)) AS c,
                   sum(quantity) AS v, count(*) AS n
            FROM f GROUP BY ALL
        )
        SELECT m.pair_id || '@' || strftime(m.timestamp, '%Y-%m-%dT%H:%M:%S')
        FROM market_data_1h m LEFT JOIN c ON c.pair_id = m.pair_id AND c.ts = m.timestamp
        WHERE coalesce(c.n, 0) <> m.trade_count OR coalesce(c.v, 0) <> m.volume
           OR (c.n > 0 AND (c.o <> m.open_price OR c.h <> m.high_price
                            OR c.l <> m.low_price OR c.c <> m.close_price))
           OR (c.n IS NULL AND NOT (m.open_price = m.close_price AND m.high_price = m.low_price
                                    AND m.open_price = m.high_price))
    """).fetchall()
    labelled = {r["reference_ids"] for r in planted(landing) if r["rule"] == "candle_mismatch"}
    assert {r[0] for r in rebuilt} == labelled and len(labelled) == 3
    (invalid,) = con.execute("""SELECT count(*) FROM market_data_1h
                       WHERE low_price > least(open_price, close_price)
                          OR greatest(open_price, close_price) > high_price
                          OR volume < 0""").fetchone()
    assert invalid == 0
    (hours,) = con.execute(
        "SELECT count(DISTINCT (pair_id, timestamp)) FROM market_data_1h"
    ).fetchone()
    assert hours == 10 * 24 * 10, "every active pair has a candle every hour"


# ---------------------------------------------------------------------------------- planted cases
def test_every_compliance_rule_is_planted_and_points_at_real_rows(landing, con):
    cases = [r for r in planted(landing) if r["kind"] == "compliance"]
    assert set(RULES) <= {r["rule"] for r in cases}
    for case in cases:
        ids = case["reference_ids"].split(";")
        assert case["user_id"] and ids != [""], case
        (n,) = con.execute(
            "SELECT count(*) FROM (SELECT transaction_id AS id FROM transactions "
            "UNION ALL SELECT event_id FROM login_events "
            f"UNION ALL SELECT trade_id FROM trades) WHERE id IN ({', '.join(map(repr, ids))})"
        ).fetchone()
        assert n == len(ids), case["case_id"]
    sev = {(r["rule"], r["expected_severity"]) for r in cases if r["rule"] == "high_risk_country"}
    assert sev == {("high_risk_country", "high"), ("high_risk_country", "medium")}


def test_planted_transfers_fire_their_rules(landing, con):
    """The simplest rules of docs/aml_rules.md, computed here, find the planted users."""
    cases = planted(landing)

    def users(rule):
        return {r["user_id"] for r in cases if r["rule"] == rule}

    large = {
        u
        for (
            u,
        ) in con.execute("""SELECT DISTINCT user_id FROM transactions WHERE status = 'completed'
        AND transaction_type IN ('deposit', 'withdrawal') AND asset = 'USDT'
        AND abs(amount) >= 10000""").fetchall()
    }
    assert users("large_transaction") <= large
    daily = {
        u
        for (u,) in con.execute("""SELECT user_id FROM transactions
        WHERE status = 'completed' AND asset = 'USDT'
          AND transaction_type IN ('deposit', 'withdrawal')
        GROUP BY user_id, created_at::DATE HAVING sum(abs(amount)) > 10000""").fetchall()
    }
    assert users("daily_aggregate") <= daily
    burst = {
        u
        for (u,) in con.execute("""SELECT DISTINCT a.user_id FROM login_events a JOIN login_events b
        ON a.user_id = b.user_id AND b.event_type = 'login_failed'
        AND b.occurred_at BETWEEN a.occurred_at AND a.occurred_at + INTERVAL 10 MINUTE
        WHERE a.event_type = 'login_failed' GROUP BY a.user_id, a.event_id
        HAVING count(*) >= 5""").fetchall()
    }
    assert burst == users("failed_login_burst")
    # one address: an IPv4 address, or an IPv6 /64 (its first four groups as written here)
    shared = {
        u
        for (u,) in con.execute("""WITH keyed AS (SELECT user_id, CASE WHEN ip_address LIKE '%:%'
            THEN array_to_string(string_split(ip_address, ':')[1:4], ':') ELSE ip_address END AS k
            FROM login_events WHERE event_type = 'login_success')
        SELECT DISTINCT user_id FROM keyed WHERE k IN (
        SELECT k FROM keyed GROUP BY 1 HAVING count(DISTINCT user_id) >= 3)""").fetchall()
    }
    assert shared == users("shared_ip")
    selfs = {
        u
        for (u,) in con.execute("""SELECT DISTINCT a.user_id FROM trades a JOIN trades b
        ON a.user_id = b.user_id AND a.pair_id = b.pair_id AND a.price = b.price
        AND a.side = 'buy' AND b.side = 'sell'
        AND abs(epoch(a.executed_at) - epoch(b.executed_at)) <= 60""").fetchall()
    }
    assert selfs == users("self_trade")


def test_anomaly_days_are_labelled_at_small_scale_and_up():
    from simulator import SCALES

    assert not SCALES["tiny"].anomalies and all(
        SCALES[s].anomalies for s in ("small", "medium", "large")
    )


def test_no_faults_option_writes_only_good_rows(tmp_path):
    out = tmp_path / "clean"
    manifest = simulate(out, scale="tiny", seed=7, faults=False)
    names = [p.name for p in out.rglob("*") if p.is_file()]
    assert not [n for n in names if "_part2" in n or "_late" in n or "_replay" in n]
    assert not [r for r in planted(out) if r["kind"] == "fault"]
    assert manifest["row_counts"]["trades"] > 0


def test_until_writes_a_prefix_of_the_same_run(landing, tmp_path):
    """Files appear over time: a run stopped early wrote exactly the full run's first files."""
    manifest = json.loads((landing / "_simulator" / "manifest.json").read_text())
    import datetime as dt

    until = dt.date.fromisoformat(manifest["start_date"]) + dt.timedelta(days=4)
    out = tmp_path / "prefix"
    simulate(out, scale="tiny", seed=42, until=until)
    written = sorted(
        p.relative_to(out) for p in out.rglob("*") if p.is_file() and "_simulator" not in p.parts
    )
    dates = {re.search(r"_(\d{4}-\d{2}-\d{2})", p.name).group(1) for p in written}
    assert written and max(dates) == until.isoformat()
    assert all(filecmp.cmp(out / p, landing / p, shallow=False) for p in written)
    later = [
        p
        for p in landing.rglob("*.*")
        if p.is_file()
        and "_simulator" not in p.parts
        and p.relative_to(landing) not in set(written)
    ]
    assert later, "the full run has files for the later days"


# --------------------------------------------------------------------------------------
# churn follows behaviour (simulator/churn.py, README.md "How simulated users churn")


@pytest.fixture
def population(tmp_path):
    """A tiny population set up (users, prices, churn state), no day simulated yet."""
    from simulator.engine import Simulator

    sim = Simulator(tmp_path / "landing", scale="tiny", seed=42)
    sim.setup_prices()
    sim.setup_users()
    sim.setup_churn()
    return sim


def _plain_traders(sim, n: int = 40):
    """n Basic traders who can churn, made alike: same trend, no signals."""
    import numpy as np

    ok = np.flatnonzero(
        (sim.kyc == 1)
        & ~sim.never
        & (sim.churn_day == 10**6)
        & (sim.tier0 == 1)
        & (sim.upgrade_us == sim.upgrade_us.max())
        & (sim.suspend_us == sim.suspend_us.max())
        & (sim.close_us == sim.close_us.max())
    )
    users = ok[:n]
    assert users.size == n, "too few plain traders at tiny"
    sim.first_day[users] = 0
    sim.trade_rate_fast[users] = sim.trade_rate_slow[users] = 0.5
    sim.notional[users] = 500.0
    return users


def test_churn_hazard_rises_with_bad_experiences_and_falls_with_deposits_and_tier(population):
    import numpy as np

    sim, d = population, 5
    users = _plain_traders(sim)
    base, signal = users[:20], users[20:]
    at_risk, before = sim.churn_hazard(d)
    assert at_risk[users].all()
    assert np.allclose(before[signal], before[base])

    def raised(change) -> bool:
        saved = {
            k: getattr(sim, k).copy() for k in vars(sim) if isinstance(getattr(sim, k), np.ndarray)
        }
        change(signal)
        _, hazard = sim.churn_hazard(d)
        for k, v in saved.items():
            setattr(sim, k, v)
        return bool((hazard[signal] > before[signal]).all())

    def tickets(u):
        sim.tickets_recent[u] = 2.0

    def unresolved(u):
        sim.observe_tickets(d - 3, u, np.full(u.size, 10**6))
        sim.tickets_recent[u] = 0.0  # the open ticket alone

    def losses(u):
        sim.loss_recent_usd[u] = 600.0

    def gains(u):
        sim.loss_recent_usd[u] = -600.0

    def rejected(u):
        sim.rejected_withdrawals_recent[u] = 1.0

    def declining(u):
        sim.trade_rate_fast[u] = 0.1

    def deposit(u):
        sim.funded_day[u] = d - 2

    def vip(u):
        sim.tier0[u] = 3

    assert raised(tickets) and raised(unresolved) and raised(losses) and raised(rejected)
    assert raised(declining)
    assert not raised(gains) and not raised(deposit) and not raised(vip)
    deposit(signal)
    vip(signal)
    _, lowered = sim.churn_hazard(d)
    assert (lowered[signal] < before[signal]).all()


def test_a_churner_declines_then_stops_and_never_churns_twice(population):
    import numpy as np

    from simulator.codes import CHURN_DECLINE_DAYS

    sim, d = population, 3
    users = _plain_traders(sim)
    sim.rejected_withdrawals_recent[users] = 2.0
    sim.tickets_recent[users] = 3.0
    sim.trade_rate_fast[users] = 0.0  # every signal at its cap: the hazard is the maximum
    no_fills = {k: np.zeros(0, np.int64) for k in ("user", "pair", "sell", "qty", "price", "fee")}
    sim.end_of_day_churn(d, {"fills": no_fills})
    started = users[sim.churn_day[users] == d + CHURN_DECLINE_DAYS + 1]
    assert started.size >= 3, "at a 25% hazard some of 40 users start to churn"
    decline = sim.churn_decline(d + 1)[started]
    assert ((decline < 1.0) & (decline > 0.2)).all()  # announced: less trading, not none
    at_risk, _ = sim.churn_hazard(d + 1)
    assert not at_risk[started].any()


def test_churn_is_seeded(tmp_path):
    """Two runs with one seed churn the same users on the same days (files compared by the
    byte-identical test); another seed churns others."""
    from simulator.engine import Simulator

    def churn_days(seed: int):
        sim = Simulator(tmp_path / f"landing_{seed}_{len(list(tmp_path.iterdir()))}", "tiny", seed)
        sim.run()
        return sim.churn_day.copy()

    first, again, other = churn_days(42), churn_days(42), churn_days(7)
    assert (first == again).all()
    assert not (first == other).all()
