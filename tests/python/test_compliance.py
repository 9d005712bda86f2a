"""Compliance rules and financial integrity (docs/aml_rules.md and
docs/reliability.md#financial-integrity) on the tiny scale.

- Every compliance case the simulator planted (`_simulator/planted_cases.csv`) is found by the
  right rule, for the right user, with the expected severity, pointing at the planted records.
- Users outside the planted cases are not flagged by those rules, except where the rule's
  definition genuinely holds for them (large transfers, rapid in-out, self trades of ordinary
  users): those rules are re-derived here in Python, independently of the SQL, and must agree.
- Alert ids are stable: rebuilding the compliance models gives the same alerts, none twice.
- The integrity tests pass on clean data and fail on a corrupted copy of the warehouse (a broken
  balance chain, a wrong fee, a negative balance, a wrong filled quantity), with the offending
  rows stored in the audit schema.
- A broken ledger never blinds compliance: `dbt build` over a broken ledger and a new day's data
  exits non-zero, yet every compliance mart is rebuilt with the new day's alerts and a critical
  data-quality alert names the broken ledger.
- The regulatory reports export as CSV with the command documented in the compliance docs.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

from orchestration.dbt_args import EXCLUDE_UNIT_TESTS
from tests.python.conftest import REPO, dbt, project_env
from tests.python.ip_keys import PII_HASH_KEY, ip_address_key

COMPLIANCE_MODELS = "path:models/intermediate/compliance path:models/marts/compliance"
INTEGRITY_TESTS = "tag:financial_integrity"
# The ledger tests read their checks (models/intermediate/integrity, same tag): build, not test.
INTEGRITY_BUILD = ["build", "--select", INTEGRITY_TESTS, *EXCLUDE_UNIT_TESTS]
# A test of severity warn that found rows prints WARN; one of severity error, FAIL.
FAILED_TEST = r"(?:FAIL|WARN) \d+ (assert_\w+)"
# What the integrity tests read, rebuilt from corrupted raw data (wallets: an incremental table).
INTEGRITY_INPUTS = [
    "+fct_transactions",
    "+fct_trades",
    "+fct_orders",
    "+fct_fee_collections",
    "stg_exchange__wallets",
]
# Rules that background users can trip by the rules' own definitions (they deposit $10,000 or
# more, withdraw older funds right after a small deposit, or a market maker's resting order
# fills at the price of its own taker order a few seconds later): their hits on users outside
# the planted cases must match an independent derivation from the facts.
# Thresholds (dbt_project.yml defaults).
LARGE_USD = 10_000
DAILY_USD = 10_000
RAPID_WINDOW = dt.timedelta(hours=24)
RAPID_WITHDRAWN_SHARE = 0.9
RAPID_TRADED_SHARE = 0.1
SELF_TRADE_WINDOW = dt.timedelta(seconds=60)
SHARED_IP_MIN_USERS = 3
SHARED_IP_WINDOW = dt.timedelta(days=30)


def planted_compliance_cases(landing: Path) -> list[dict]:
    with open(landing / "_simulator" / "planted_cases.csv", newline="", encoding="utf-8") as fh:
        return [row for row in csv.DictReader(fh) if row["kind"] == "compliance"]


def connect(warehouse: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(warehouse), read_only=True)


def rule_alerts(con) -> list[dict]:
    cursor = con.execute("""
        select alert_id, rule_name, user_id, severity, hit_key, evidence_ids, amount_usd
        from marts.fct_compliance_alerts
        where alert_source = 'rule'
    """)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# ---------------------------------------------------------------------------------- recall


def test_every_planted_case_is_found_with_its_rule_and_severity(tiny_warehouse):
    cases = planted_compliance_cases(tiny_warehouse.landing)
    assert cases, "the simulator planted no compliance case"
    with connect(tiny_warehouse.warehouse) as con:
        alerts = rule_alerts(con)
    by_rule_user = defaultdict(list)
    for alert in alerts:
        by_rule_user[(alert["rule_name"], alert["user_id"])].append(alert)

    problems = []
    for case in cases:
        found = by_rule_user.get((case["rule"], case["user_id"]), [])
        if not found:
            problems.append(f"{case['case_id']} {case['rule']} {case['user_id']}: no alert")
            continue
        if not any(a["severity"] == case["expected_severity"] for a in found):
            problems.append(
                f"{case['case_id']} {case['rule']}: severity {[a['severity'] for a in found]}, "
                f"expected {case['expected_severity']}"
            )
        # The alert points at the planted records (a shared-IP alert lists users instead).
        refs = {r for r in case["reference_ids"].split(";") if r}
        if refs and case["rule"] != "shared_ip":
            evidence = set()
            for alert in found:
                evidence |= set((alert["evidence_ids"] or "").split(",")) | {alert["hit_key"]}
            if not refs & evidence:
                problems.append(
                    f"{case['case_id']} {case['rule']}: evidence {sorted(evidence)} "
                    f"holds none of the planted records {sorted(refs)}"
                )
    assert not problems, "planted cases missed:\n" + "\n".join(problems)


# ------------------------------------------------------------------------------- precision


def _large_transactions(con) -> set[tuple[str, str]]:
    rows = con.execute("""
        select user_id, transaction_id, cast(amount_usd as double) as amount_usd
        from marts.fct_transactions
        where transaction_status = 'completed' and transaction_type in ('deposit', 'withdrawal')
    """).fetchall()
    return {(user, tx) for user, tx, usd in rows if usd is not None and abs(usd) >= LARGE_USD}


def _daily_aggregates(con) -> set[tuple[str, str]]:
    rows = con.execute("""
        select user_id, created_at, cast(amount_usd as double) as amount_usd
        from marts.fct_transactions
        where transaction_status = 'completed' and transaction_type in ('deposit', 'withdrawal')
    """).fetchall()
    totals = defaultdict(float)
    for user, created_at, usd in rows:
        if usd is not None:
            totals[(user, created_at.date().isoformat())] += abs(usd)
    return {key for key, total in totals.items() if total > DAILY_USD}


def _rapid_in_out_users(con) -> set[str]:
    transfers = con.execute("""
        select user_id, transaction_type, created_at, transaction_id,
            abs(cast(amount_usd as double))
        from marts.fct_transactions
        where transaction_status = 'completed' and transaction_type in ('deposit', 'withdrawal')
            and amount_usd is not null
        order by user_id, created_at, transaction_id
    """).fetchall()
    fills = defaultdict(list)
    for user, executed_at, usd in con.execute(
        "select user_id, executed_at, notional_usd from marts.fct_trades"
    ).fetchall():
        fills[user].append((executed_at, usd or 0.0))
    by_user = defaultdict(list)
    for user, kind, at, tx, usd in transfers:
        by_user[user].append((kind, at, tx, usd))
    users = set()
    for user, rows in by_user.items():
        for kind, at, _, deposit_usd in rows:
            if kind != "deposit" or deposit_usd <= 0:
                continue
            withdrawn = 0.0
            for other_kind, other_at, _, usd in rows:
                if other_kind != "withdrawal" or not (at < other_at <= at + RAPID_WINDOW):
                    continue
                withdrawn += usd
                if withdrawn >= RAPID_WITHDRAWN_SHARE * deposit_usd:
                    traded = sum(n for t, n in fills[user] if at < t <= other_at)
                    if traded < RAPID_TRADED_SHARE * deposit_usd:
                        users.add(user)
                    break
    return users


def _self_trade_users(con) -> set[str]:
    fills = defaultdict(list)
    for user, pair, price, side, executed_at in con.execute(
        "select user_id, pair_id, price, side, executed_at from marts.fct_trades"
    ).fetchall():
        fills[(user, pair, price)].append((executed_at, side))
    users = set()
    for (user, _, _), rows in fills.items():
        buys = [t for t, side in rows if side == "buy"]
        sells = [t for t, side in rows if side == "sell"]
        if any(abs(b - s) <= SELF_TRADE_WINDOW for b in buys for s in sells):
            users.add(user)
    return users


def _shared_ip_hits(con) -> set[tuple[str, str, dt.datetime]]:
    """(user, address hash, detected_at) from the raw logins' clear addresses: every successful
    login closes a window of the 30 days before it (bounds included) on its address; each user
    of a window with 3 or more users is detected at the first such window that holds them."""
    logins = con.execute("""
        select distinct event_id, user_id, ip_address, occurred_at
        from raw.login_events
        where event_type = 'login_success' and ip_address is not null
    """).fetchall()
    by_address = defaultdict(list)
    for _, user, address, at in logins:
        key = ip_address_key(address)
        if key is not None:
            by_address[key].append((at, user))
    hits = {}
    for key, rows in by_address.items():
        if len({user for _, user in rows}) < SHARED_IP_MIN_USERS:
            continue
        rows.sort()
        for closed_at, _ in rows:
            members = {user for at, user in rows if closed_at - SHARED_IP_WINDOW <= at <= closed_at}
            if len(members) >= SHARED_IP_MIN_USERS:
                for user in members:
                    if (user, key) not in hits:
                        hits[(user, key)] = closed_at
    return {
        (user, hmac.new(PII_HASH_KEY.encode(), key.encode(), hashlib.sha256).hexdigest(), at)
        for (user, key), at in hits.items()
    }


def test_users_outside_the_planted_cases_are_not_flagged(tiny_warehouse):
    cases = planted_compliance_cases(tiny_warehouse.landing)
    planted = {(c["rule"], c["user_id"]) for c in cases}
    planted_rules = {c["rule"] for c in cases}
    with connect(tiny_warehouse.warehouse) as con:
        alerts = [a for a in rule_alerts(con) if a["rule_name"] in planted_rules]
        large = _large_transactions(con)
        daily = _daily_aggregates(con)
        rapid = _rapid_in_out_users(con)
        self_trade = _self_trade_users(con)
        shared_ip = _shared_ip_hits(con)
        shared_ip_fired = set(
            con.execute("""
            select user_id, hit_key, detected_at from marts.fct_compliance_alerts
            where alert_source = 'rule' and rule_name = 'shared_ip'
        """).fetchall()
        )

    unexpected = [a for a in alerts if (a["rule_name"], a["user_id"]) not in planted]
    unexplained = []
    for alert in unexpected:
        rule, user = alert["rule_name"], alert["user_id"]
        if rule == "large_transaction" and (user, alert["hit_key"]) in large:
            continue
        if rule == "daily_aggregate" and (user, alert["hit_key"]) in daily:
            continue
        if rule == "rapid_in_out" and user in rapid:
            continue
        if rule == "self_trade" and user in self_trade:
            continue
        if rule == "shared_ip" and any(h[:2] == (user, alert["hit_key"]) for h in shared_ip):
            continue
        unexplained.append(f"{rule} {user} {alert['hit_key']} {alert['amount_usd']}")
    assert not unexplained, "users flagged outside the planted cases:\n" + "\n".join(unexplained)

    # The re-derived rules fire exactly where the independent derivation says.
    fired = defaultdict(set)
    for alert in alerts:
        fired[alert["rule_name"]].add((alert["user_id"], alert["hit_key"]))
    assert fired["large_transaction"] == large
    assert fired["daily_aggregate"] == daily
    assert {user for user, _ in fired["rapid_in_out"]} == rapid
    assert {user for user, _ in fired["self_trade"]} == self_trade
    # shared_ip on the exact address (the IPv6 /64): same users, same address hashes, same
    # detection times; the planted rings on an IPv4 address and on an IPv6 /64 among them.
    assert shared_ip_fired == shared_ip
    planted_shared = {c["user_id"] for c in cases if c["rule"] == "shared_ip"}
    assert planted_shared and planted_shared <= {user for user, _, _ in shared_ip}
    assert {c["case_id"] for c in cases if c["rule"] == "shared_ip"} >= {"CMP-11", "CMP-IP6"}


# ------------------------------------------------------------------------------ stability


@pytest.fixture(scope="module")
def warehouse_copy_factory(tiny_warehouse, tmp_path_factory):
    """A private copy of the tiny warehouse (dbt writes to it) and its environment."""

    def make(name: str):
        root = tmp_path_factory.mktemp(name)
        warehouse = root / "warehouse.duckdb"
        shutil.copyfile(tiny_warehouse.warehouse, warehouse)
        return root, warehouse, project_env(root, warehouse)

    return make


def test_rebuilding_never_duplicates_or_renames_an_alert(warehouse_copy_factory):
    _, warehouse, env = warehouse_copy_factory("rebuild")
    query = "select alert_id, rule_name, user_id, hit_key from marts.fct_compliance_alerts"
    with connect(warehouse) as con:
        before = con.execute(query).fetchall()
    dbt(["run", "--select", *COMPLIANCE_MODELS.split()], env)
    with connect(warehouse) as con:
        after = con.execute(query).fetchall()
    assert len({row[0] for row in after}) == len(after), "an alert id appears twice"
    assert sorted(before) == sorted(after)


# ------------------------------------------------------------------------------ integrity


def _pick(con, sql: str):
    rows = con.execute(sql).fetchall()
    assert rows, sql
    return rows[0]


def test_integrity_tests_catch_a_corrupted_copy(warehouse_copy_factory):
    root, warehouse, env = warehouse_copy_factory("corrupted")
    # Clean data first: every integrity test passes.
    dbt(INTEGRITY_BUILD, env)

    with duckdb.connect(str(warehouse)) as con:
        # A completed deposit in the middle of a chain: its balance_after is off by one unit.
        (chain_tx,) = _pick(
            con,
            """
            select transaction_id from staging.stg_exchange__transactions as t
            where status = 'completed' and transaction_type = 'deposit'
                and exists (
                    select 1 from staging.stg_exchange__transactions as later
                    where later.user_id = t.user_id and later.asset = t.asset
                        and later.status = 'completed' and later.created_at > t.created_at)
            order by transaction_id limit 1
        """,
        )
        con.execute(
            "update raw.transactions set balance_after = balance_after + 1"
            " where transaction_id = ?",
            [chain_tx],
        )
        # A taker fill charged twice its fee.
        (fee_trade,) = _pick(
            con,
            """
            select trade_id from staging.stg_exchange__trades
            where not is_maker and fee_amount > 0 order by trade_id limit 1
        """,
        )
        con.execute("update raw.trades set fee = fee * 2 where trade_id = ?", [fee_trade])
        # A wallet with a negative balance.
        (wallet,) = _pick(
            con, "select wallet_id from staging.stg_exchange__wallets order by wallet_id limit 1"
        )
        con.execute("update raw.wallets set balance = -5 where wallet_id = ?", [wallet])
        # An order whose filled quantity no longer matches its fills.
        (order,) = _pick(
            con,
            """
            select order_id from staging.stg_exchange__orders
            where status = 'filled' order by order_id limit 1
        """,
        )
        con.execute(
            "update raw.orders set filled_quantity = filled_quantity / 2 where order_id = ?",
            [order],
        )

    # The integrity tests read the facts (tables): rebuild them from the corrupted raw data.
    dbt(["run", "--full-refresh", "--select", *INTEGRITY_INPUTS], env)
    dbt_executable = str(Path(sys.executable).parent / "dbt")
    result = subprocess.run(
        [dbt_executable, *INTEGRITY_BUILD], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0, result.stdout[-3000:]
    failed = set(re.findall(FAILED_TEST, result.stdout))
    assert {
        "assert_transaction_balance_chains_hold",
        "assert_fill_fees_match_fee_rates",
        "assert_trading_fees_reconcile_with_fills",
        "assert_no_negative_balances",
        "assert_wallet_balances_match_last_transaction",
        "assert_order_fills_match_filled_quantity",
    } <= failed, result.stdout[-3000:]

    # The offending rows are stored for an analyst to read.
    with connect(warehouse) as con:

        def stored(test: str, column: str) -> set:
            query = f'select "{column}" from dbt_test__audit."{test}"'
            return {value for (value,) in con.execute(query).fetchall()}

        assert chain_tx in stored("assert_transaction_balance_chains_hold", "transaction_id")
        assert fee_trade in stored("assert_fill_fees_match_fee_rates", "trade_id")
        assert wallet in stored("assert_no_negative_balances", "row_id")
        assert wallet in stored("assert_wallet_balances_match_last_transaction", "wallet_id")
        assert order in stored("assert_order_fills_match_filled_quantity", "order_id")
        assert stored("assert_trading_fees_reconcile_with_fills", "fee_date")


def test_a_daily_runs_integrity_tests_read_its_last_days_only(warehouse_copy_factory):
    """With ``test_days`` (macros/test_window.sql) the integrity tests check the last N days:
    a broken link at the window's first row (its predecessor is older) and a wrong fee on the
    last day are caught; the same faults on the first day are not read."""
    root, warehouse, env = warehouse_copy_factory("test_window")
    last_day = "(select max(cast(created_at as date)) from staging.stg_exchange__transactions)"
    with duckdb.connect(str(warehouse)) as con:
        # A completed row of the last day whose previous row is older: its balance_before and
        # balance_after both shifted, so only the link to that older row breaks.
        (link_tx,) = _pick(
            con,
            f"""
            select transaction_id from (
                select transaction_id, created_at, lag(created_at) over (
                    partition by user_id, asset order by created_at, transaction_id
                ) as previous_at
                from staging.stg_exchange__transactions where status = 'completed'
            ) as chain
            where cast(created_at as date) = {last_day}
                and cast(previous_at as date) < {last_day}
            order by created_at, transaction_id limit 1
        """,
        )
        con.execute(
            "update raw.transactions set balance_before = balance_before + 1, "
            "balance_after = balance_after + 1 where transaction_id = ?",
            [link_tx],
        )
        fills = {}
        for name, day in (("last", "max"), ("first", "min")):
            (fills[name],) = _pick(
                con,
                f"""
                select trade_id from staging.stg_exchange__trades
                where not is_maker and fee_amount > 0 and cast(executed_at as date) = (
                    select {day}(cast(executed_at as date)) from staging.stg_exchange__trades)
                order by trade_id limit 1
            """,
            )
            con.execute("update raw.trades set fee = fee * 2 where trade_id = ?", [fills[name]])
    dbt(["run", "--full-refresh", "--select", *INTEGRITY_INPUTS], env)
    window = ["--vars", "{test_days: 1}"]
    tests = ["assert_transaction_balance_chains_hold", "assert_fill_fees_match_fee_rates"]
    dbt_executable = str(Path(sys.executable).parent / "dbt")
    # the chain test reads its check, rebuilt here with the window
    check = "int_ledger_chain_breaks_detected"
    result = subprocess.run(
        [
            dbt_executable,
            "build",
            "--select",
            check,
            *tests,
            *EXCLUDE_UNIT_TESTS,
            *window,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert set(re.findall(FAILED_TEST, result.stdout)) == set(tests), result.stdout[-3000:]
    with connect(warehouse) as con:

        def stored(test: str, column: str) -> set:
            return {
                v
                for (v,) in con.execute(
                    f'select "{column}" from dbt_test__audit."{test}"'
                ).fetchall()
            }

        assert link_tx in stored("assert_transaction_balance_chains_hold", "transaction_id")
        fee_failures = stored("assert_fill_fees_match_fee_rates", "trade_id")
        assert fills["last"] in fee_failures and fills["first"] not in fee_failures
    # Without the window (the full build's tests) the first day's fault is found too.
    subprocess.run(
        [dbt_executable, "test", "--select", tests[1]],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    with connect(warehouse) as con:
        assert fills["first"] in stored("assert_fill_fees_match_fee_rates", "trade_id")


def test_a_broken_ledger_alerts_but_never_blinds_compliance(warehouse_copy_factory):
    """docs/reliability.md#financial-integrity: a broken ledger is reported loudly (non-zero exit,
    failing rows stored, a critical data-quality alert), yet the day's AML detection, alert marts
    and regulatory reports are all rebuilt in the same `dbt build`, from the data that arrived."""
    _, warehouse, env = warehouse_copy_factory("broken_ledger")
    with duckdb.connect(str(warehouse)) as con:
        (loaded_at, new_day) = con.execute(
            "select max(_loaded_at) + interval 1 hour, max(cast(created_at as date)) + 1"
            " from raw.transactions"
        ).fetchone()
        # A completed row in the middle of a chain: its balance_after is off by one unit.
        (broken_tx, broken_user, broken_asset) = _pick(
            con,
            """
            select transaction_id, user_id, asset from staging.stg_exchange__transactions as t
            where status = 'completed'
                and exists (
                    select 1 from staging.stg_exchange__transactions as later
                    where later.user_id = t.user_id and later.asset = t.asset
                        and later.status = 'completed' and later.created_at > t.created_at)
            order by transaction_id limit 1
        """,
        )
        con.execute(
            "update raw.transactions set balance_after = balance_after + 1, _loaded_at = ?"
            " where transaction_id = ?",
            [loaded_at, broken_tx],
        )
        # The new day: another user deposits $25,000 of USDT on top of their chain's end (a
        # last timestamp with a single row, so its balance_after is the end).
        (user, balance) = con.execute(
            """
            with ends as (
                select user_id, max(created_at) as last_at, count(*) as row_count
                from staging.stg_exchange__transactions as t
                where asset = 'USDT' and status = 'completed'
                    and created_at = (
                        select max(created_at) from staging.stg_exchange__transactions as u
                        where u.user_id = t.user_id and u.asset = 'USDT'
                            and u.status = 'completed')
                group by user_id
            )
            select t.user_id, t.balance_after
            from staging.stg_exchange__transactions as t
            inner join ends on t.user_id = ends.user_id and t.created_at = ends.last_at
            where t.asset = 'USDT' and t.status = 'completed' and ends.row_count = 1
                and t.user_id <> ?
            order by t.user_id limit 1
        """,
            [broken_user],
        ).fetchone()
        con.execute(
            "insert into raw.transactions (transaction_id, user_id, transaction_type, asset,"
            " amount, balance_before, balance_after, reference_id, status, created_at, _load_id,"
            " _source_file, _row_number, _loaded_at) values ('new-day-deposit', ?, 'deposit',"
            " 'USDT', 25000, ?, ?, null, 'completed', cast(? as timestamp) + interval 10 hour,"
            " 'test', 'transactions_new_day.jsonl', 1, ?)",
            [user, balance, balance + 25000, new_day, loaded_at],
        )

    dbt_executable = str(Path(sys.executable).parent / "dbt")
    result = subprocess.run(
        [dbt_executable, "build", *EXCLUDE_UNIT_TESTS],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    output = result.stdout + result.stderr
    # Loud: the build fails, naming the broken invariant, once everything ran.
    assert result.returncode != 0, output[-3000:]
    assert "Financial integrity broken" in output, output[-3000:]
    assert "assert_transaction_balance_chains_hold" in re.findall(FAILED_TEST, output)
    # Nothing was skipped: no detector, mart or report waited on the failing test.
    assert re.search(r"\bSKIP=0\b", output), output[-3000:]

    with connect(warehouse) as con:

        def one(sql: str, params=None):
            rows = con.execute(sql, params or []).fetchall()
            assert len(rows) == 1, (sql, rows)
            return rows[0]

        # The new day's alert, in every compliance mart.
        (alert_id, severity, detected_date) = one(
            "select alert_id, severity, detected_date from marts.fct_compliance_alerts"
            " where alert_source = 'rule' and rule_name = 'large_transaction'"
            " and hit_key = 'new-day-deposit'"
        )
        assert (severity, detected_date) == ("high", new_day)
        assert (
            one(
                "select alert_count from marts.fct_compliance_alert_daily where alert_date = ?"
                " and alert_source = 'rule' and rule_name = 'large_transaction'",
                [new_day],
            )[0]
            >= 1
        )
        assert one(
            "select user_id from marts.rpt_sar_candidates where alert_id = ?", [alert_id]
        ) == (user,)
        assert one(
            "select alert_id from marts.rpt_large_transactions_monthly"
            " where transaction_id = 'new-day-deposit'"
        ) == (alert_id,)
        assert one(
            "select cast(last_alert_at as date) from marts.dim_user_risk_profiles"
            " where user_id = ?",
            [user],
        ) == (new_day,)
        # The broken ledger: a critical data-quality alert naming the row, its failing rows
        # stored, and no weight in the user's risk profile.
        (dq_severity, evidence_ids) = one(
            "select severity, evidence_ids from marts.fct_compliance_alerts"
            " where alert_source = 'data_quality' and rule_name = 'ledger_balance_chain_broken'"
            " and user_id = ? and hit_key = ?",
            [broken_user, broken_asset],
        )
        assert dq_severity == "critical" and broken_tx in evidence_ids.split(",")
        stored = {
            v
            for (v,) in con.execute(
                "select transaction_id from dbt_test__audit.assert_transaction_balance_chains_hold"
            ).fetchall()
        }
        assert broken_tx in stored
        assert (
            one(
                "select count(*) from marts.fct_compliance_alerts"
                " where alert_source = 'data_quality'"
            )[0]
            == 1
        )
        # The run was recorded, the compliance marts built in it.
        statuses = dict(
            con.execute("""
            select node_name, status from ops.dbt_run_results
            where invocation_id = (
                select invocation_id from ops.dbt_run_results order by recorded_at desc limit 1)
        """).fetchall()
        )
        for mart in (
            "fct_compliance_alerts",
            "fct_compliance_alert_daily",
            "rpt_sar_candidates",
            "rpt_large_transactions_monthly",
            "dim_user_risk_profiles",
            "int_large_transactions_flagged",
        ):
            assert statuses[mart] == "success", (mart, statuses.get(mart))
        assert statuses["assert_transaction_balance_chains_hold"] == "warn"


# ------------------------------------------------------------------------------- reports


def documented_export_command() -> str:
    docs = (REPO / "models" / "marts" / "compliance" / "_compliance__docs.md").read_text()
    block = re.search(r"<!-- export-command -->\s*```sh\n(.*?)\n```", docs, re.S)
    assert block, "the export command is missing from _compliance__docs.md"
    return block.group(1).strip()


def test_regulatory_reports_export_as_csv(tiny_warehouse, tmp_path):
    command = documented_export_command().replace(".venv/bin/python", sys.executable)
    env = dict(tiny_warehouse.env)
    result = subprocess.run(
        ["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    with connect(tiny_warehouse.warehouse) as con:
        expected = {
            "large_transactions_monthly.csv": con.execute(
                "select count(*) from marts.rpt_large_transactions_monthly"
            ).fetchall()[0][0],
            "sar_candidates.csv": con.execute(
                "select count(*) from marts.rpt_sar_candidates"
            ).fetchall()[0][0],
        }
        sar_due = con.execute("""
            select count(*) from marts.rpt_sar_candidates
            where due_date <> cast(detected_date + interval '30 days' as date) or amount_usd < 2000
        """).fetchall()[0][0]
    assert sar_due == 0
    for name, count in expected.items():
        path = tmp_path / "reports" / name
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        assert len(rows) == count > 0, name
