"""The Dagster code location: definitions and lineage, partitions -> dbt vars, the landing
sensor, the alert webhook (a real HTTP receiver on 127.0.0.1), the blocking Great Expectations
gate, the warehouse lock, and `dagster definitions validate`.

Real Dagster, real DuckDB files under tmp_path, no dbt run (the dbt models are tested by dbt).
Importing the code location runs `dbt parse` first when target/manifest.json is missing or
older than a file of the project.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import os
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

import dagster as dg
import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

TRADES = dg.AssetKey(["exchange", "trades"])
TRADES_HEADER = (
    "trade_id,order_id,user_id,pair_id,side,quantity,price,fee,fee_asset,is_maker,executed_at"
)


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    os.environ.setdefault("DO_NOT_TRACK", "1")
    from orchestration.definitions import defs

    return defs


# --------------------------------------------------------------------------------------
# definitions


def test_a_stale_manifest_is_parsed_again(tmp_path):
    """A project file changed after the manifest was made: the code location parses again. A
    stale manifest failed `dagster job execute` on the first dbt node it did not know (a KeyError
    on a test renamed since), not with a message about the manifest."""
    from dagster_dbt import DbtProject

    from orchestration.dbt_project import PROJECT_DIR, ensure_manifest, newest_project_input

    project = DbtProject(
        project_dir=PROJECT_DIR, profiles_dir=PROJECT_DIR, target_path=str(tmp_path / "target")
    )
    manifest = ensure_manifest(project)
    assert manifest.exists()

    stale = newest_project_input() - 3600
    os.utime(manifest, (stale, stale))
    ensure_manifest(project)
    assert manifest.stat().st_mtime >= newest_project_input()

    parsed_at = manifest.stat().st_mtime_ns
    ensure_manifest(project)
    assert manifest.stat().st_mtime_ns == parsed_at, "a fresh manifest is not parsed again"


def test_definitions_load_with_unbroken_lineage(defs):
    from ingestion.contract import TABLES
    from orchestration.assets import TABLE_KEYS
    from orchestration.assets.dbt import MANIFEST, node_asset_key
    from orchestration.checks import CONTRACT_CHECK

    graph = defs.resolve_asset_graph()
    keys = graph.get_all_asset_keys()

    # One materializable asset per landed table, keyed like the dbt sources.
    assert set(TABLE_KEYS) == set(TABLES)
    assert TABLE_KEYS["trades"] == TRADES
    assert TABLE_KEYS["external_prices"] == dg.AssetKey(["market_feeds", "external_prices"])
    for key in TABLE_KEYS.values():
        assert key in keys and graph.get(key).is_materializable, key
        assert dg.AssetCheckKey(key, CONTRACT_CHECK) in graph.asset_check_keys
    # Every dbt model, seed and snapshot is an asset.
    for node in MANIFEST["nodes"].values():
        if node["resource_type"] in ("model", "seed", "snapshot"):
            assert node_asset_key(node["name"], node["resource_type"]) in keys, node["name"]
    # dbt tests that state a rule became asset checks (a relationship, a warn test, the
    # financial integrity tests); column-shape tests of severity error run in dbt only.
    fct_trades = node_asset_key("fct_trades")
    checks_of_trades = {c.name for c in graph.asset_check_keys if c.asset_key == fct_trades}
    assert any(name.startswith("relationships_fct_trades_") for name in checks_of_trades)
    assert "not_null_fct_trades_notional_usd" in checks_of_trades  # severity warn
    assert not any(name.startswith("unique_fct_trades_") for name in checks_of_trades)
    # Singular tests that read several models are attached by their meta (dagster.ref).
    names = {c.name for c in graph.asset_check_keys}
    assert {
        "assert_transaction_balance_chains_hold",
        "assert_wallet_balances_match_last_transaction",
        "assert_trading_fees_reconcile_with_fills",
        "assert_no_negative_balances",
        "assert_user_segments_cover_every_user",
    } <= names

    # Lineage: landing table -> staging -> ... -> marts, through materializable assets only.
    seen, queue = {TRADES}, deque([TRADES])
    while queue:
        for child in graph.get(queue.popleft()).child_keys:
            if child not in seen:
                seen.add(child)
                queue.append(child)
    assert node_asset_key("stg_exchange__trades") in seen
    assert fct_trades in seen
    assert node_asset_key("fct_daily_exchange_kpis") in seen
    # The churn model is scored after the marts it reads, as a mart of its own.
    assert dg.AssetKey(["marts", "fct_churn_predictions"]) in seen
    staging = graph.get(node_asset_key("stg_exchange__trades"))
    assert staging.parent_keys == {TRADES}

    jobs = {job.name for job in defs.resolve_all_job_defs()}
    assert {"load_landing", "hourly_incremental", "daily_full_build"} <= jobs


def test_partition_window_becomes_dbt_vars(defs):
    from orchestration.assets.dbt import dbt_build_args, dbt_incremental_models
    from orchestration.partitions import (
        daily_partitions,
        dbt_vars_for_partition_keys,
        dbt_vars_for_partition_range,
    )
    from orchestration.schedules import daily_full_build_schedule, hourly_incremental_schedule

    assert dbt_vars_for_partition_keys("2026-10-05", "2026-10-05") == {
        "min_date": "2026-10-05",
        "max_date": "2026-10-06",
    }
    assert dbt_vars_for_partition_keys("2026-10-01", "2026-10-31") == {
        "min_date": "2026-10-01",
        "max_date": "2026-11-01",
    }
    now = dt.datetime(2026, 11, 25, 10, 5, tzinfo=dt.UTC)
    first = daily_partitions.get_first_partition_key()
    # The edges are open: the first partition holds all older rows, today all newer ones.
    assert dbt_vars_for_partition_range("2026-10-05", "2026-10-07", current_time=now) == {
        "min_date": "2026-10-05",
        "max_date": "2026-10-08",
    }
    assert dbt_vars_for_partition_range(first, "2026-10-07", current_time=now) == {
        "max_date": "2026-10-08"
    }
    assert dbt_vars_for_partition_range("2026-11-25", "2026-11-25", current_time=now) == {
        "min_date": "2026-11-25"
    }
    assert dbt_vars_for_partition_range(first, "2026-11-25", current_time=now) == {}
    assert dbt_build_args({"min_date": "2026-10-05", "max_date": "2026-10-06"})[-2:] == [
        "--vars",
        '{"max_date": "2026-10-06", "min_date": "2026-10-05"}',
    ]
    assert "--vars" not in dbt_build_args({})

    if dbt_incremental_models is not None:  # the project has models tagged `daily_partitioned`
        assert dbt_incremental_models.partitions_def == daily_partitions
        assert dbt_incremental_models.backfill_policy == dg.BackfillPolicy.single_run()
        context = dg.build_schedule_context(scheduled_execution_time=now)
        assert hourly_incremental_schedule(context).partition_key == "2026-11-25"
        daily = daily_full_build_schedule(context)
        assert daily.tags["dagster/asset_partition_range_start"] == first
        assert daily.tags["dagster/asset_partition_range_end"] == "2026-11-25"


def test_a_run_over_some_partitions_tests_its_days_only(defs):
    """The dbt steps of a partition run (or a backfill range) get ``test_days`` (the range's
    day count); a run over every partition, the daily full build, tests all history."""
    from orchestration.assets.dbt import dbt_build_args, run_partition_range, test_vars_of_run
    from orchestration.partitions import daily_partitions, dbt_test_vars_for_partition_range

    now = dt.datetime(2026, 11, 25, 10, 5, tzinfo=dt.UTC)
    first = daily_partitions.get_first_partition_key()
    assert dbt_test_vars_for_partition_range("2026-11-25", "2026-11-25", current_time=now) == {
        "test_days": 1
    }
    assert dbt_test_vars_for_partition_range("2026-10-05", "2026-10-07", current_time=now) == {
        "test_days": 3
    }
    # a range from the first partition but not to today is still a window
    assert dbt_test_vars_for_partition_range(first, "2026-10-07", current_time=now)["test_days"] > 3
    assert dbt_test_vars_for_partition_range(first, "2026-11-25", current_time=now) == {}

    # From the run's tags, as the unpartitioned dbt steps of a partitioned run read them.
    today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    assert run_partition_range({}) is None
    assert test_vars_of_run({"dagster/partition": today}) == {"test_days": 1}
    assert run_partition_range({"dagster/partition": "2026-10-05"}) == ("2026-10-05",) * 2
    full = {
        "dagster/asset_partition_range_start": first,
        "dagster/asset_partition_range_end": today,
    }
    assert test_vars_of_run(full) == {}
    assert test_vars_of_run({**full, "dagster/asset_partition_range_start": today}) == {
        "test_days": 1
    }
    assert dbt_build_args({"test_days": 1})[-2:] == ["--vars", '{"test_days": 1}']


# --------------------------------------------------------------------------------------
# landing sensor


def _landing_file(landing: Path, rel: str, text: str = "a\n1\n", age: float = 60.0) -> None:
    path = landing / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    past = time.time() - age
    os.utime(path, (past, past))


def test_landing_sensor_requests_a_load_for_new_files_only(defs, tmp_path, monkeypatch):
    from orchestration.assets import TABLE_KEYS
    from orchestration.checks import CONTRACT_CHECK, RANGE_CHECK
    from orchestration.resources import LandingResource
    from orchestration.sensors import landing_files_sensor

    monkeypatch.setenv("EXCHANGE_LANDING_SETTLE_SECONDS", "5")
    landing = tmp_path / "landing"
    _landing_file(landing, "trades/2026-10-01.csv")
    _landing_file(landing, "users/users.jsonl")
    _landing_file(landing, "_simulator/planted_cases.csv")  # not a table: ignored
    _landing_file(landing, "trades/.upload.csv")  # hidden (partial upload): ignored
    _landing_file(landing, "trades/2026-10-02.csv", age=-600)  # still being written: next tick
    resources = {"landing": LandingResource(path=str(landing))}

    def tick(cursor):
        with dg.build_sensor_context(cursor=cursor, resources=resources) as context:
            result = landing_files_sensor(context)
        return result.run_requests or [], result.cursor

    requests, cursor = tick(None)
    assert len(requests) == 1
    assert set(requests[0].asset_selection) == {TABLE_KEYS["trades"], TABLE_KEYS["users"]}
    assert {k.asset_key for k in requests[0].asset_check_keys} == {
        TABLE_KEYS["trades"],
        TABLE_KEYS["users"],
    }
    assert {k.name for k in requests[0].asset_check_keys} <= {CONTRACT_CHECK, RANGE_CHECK}
    assert requests[0].tags["exchange/new_files"] == "2"
    assert set(json.loads(cursor)) == {"trades/2026-10-01.csv", "users/users.jsonl"}

    # Files seen before: nothing to do (the settled file is new, though).
    os.utime(landing / "trades/2026-10-02.csv", (time.time() - 60, time.time() - 60))
    requests, cursor = tick(cursor)
    assert [r.asset_selection for r in requests] == [[TABLE_KEYS["trades"]]]
    requests, cursor = tick(cursor)
    assert requests == []

    _landing_file(landing, "external_prices/prices.parquet")
    requests, cursor = tick(cursor)
    assert [r.asset_selection for r in requests] == [[TABLE_KEYS["external_prices"]]]


# --------------------------------------------------------------------------------------
# alerts


class _Receiver(http.server.BaseHTTPRequestHandler):
    posts: list[dict] = []
    fail_next = 0

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if _Receiver.fail_next:
            _Receiver.fail_next -= 1
            self.send_response(500)
        else:
            _Receiver.posts.append(json.loads(body))
            self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    _Receiver.posts, _Receiver.fail_next = [], 0
    server = http.server.HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/alerts", _Receiver
    finally:
        server.shutdown()
        server.server_close()


def _compliance_mart(path: Path, rows: list[tuple]) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    con.execute(
        "CREATE TABLE IF NOT EXISTS marts.fct_compliance_alerts (alert_id VARCHAR, rule VARCHAR, "
        "user_id VARCHAR, severity VARCHAR, amount_usd DOUBLE, detected_at TIMESTAMP)"
    )
    con.executemany("INSERT INTO marts.fct_compliance_alerts VALUES (?, ?, ?, ?, ?, ?)", rows)
    con.close()


def _kpi_anomalies_mart(path: Path, relation: str) -> None:
    con = duckdb.connect(str(path))
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {relation.split('.')[0]}")
    con.execute(
        f"CREATE TABLE {relation} AS SELECT * FROM (VALUES "
        "(DATE '2026-10-12', 'new_registrations', 192.0, 37.0, 41.8, true, 'spike'), "
        "(DATE '2026-10-12', 'trade_count', 510.0, 500.0, 0.2, false, NULL)"
        ") AS t(kpi_date, metric_name, metric_value, baseline_value, robust_z_score, "
        "is_anomaly, anomaly_direction)"
    )
    con.close()


def test_alerts_are_posted_to_the_webhook_once(defs, tmp_path, webhook):
    from orchestration.assets import alert_notifications
    from orchestration.assets.alerts import ALERT_RELATIONS
    from orchestration.resources import AlertWebhookResource, WarehouseResource

    url, receiver = webhook
    warehouse = tmp_path / "wh.duckdb"
    anomalies = ALERT_RELATIONS["kpi_anomaly"]  # None while the project has no anomaly mart
    if anomalies:
        _kpi_anomalies_mart(warehouse, anomalies)
    _compliance_mart(
        warehouse,
        [
            ("a1", "large_transaction", "u1", "high", 25_000.0, dt.datetime(2026, 10, 1, 9)),
            ("a2", "high_risk_country", "u2", "medium", 1_500.0, dt.datetime(2026, 10, 1, 10)),
            ("a3", "structuring", "u3", "high", 27_000.0, dt.datetime(2026, 10, 2, 11)),
        ],
    )
    resources = {
        "warehouse": WarehouseResource(path=str(warehouse), lock_timeout_seconds=5),
        "alert_webhook": AlertWebhookResource(url=url, timeout_seconds=5),
    }

    def run():
        result = dg.materialize([alert_notifications], resources=resources, raise_on_error=False)
        return result

    # A webhook that fails: the run fails, nothing is recorded as sent.
    receiver.fail_next = 1
    assert not run().success
    assert receiver.posts == []

    assert run().success
    assert len(receiver.posts) == 1
    text = receiver.posts[0]["text"]
    assert "2 new high-severity compliance alerts" in text
    assert "(alert a1)" in text and "(alert a3)" in text and "a2" not in text
    if anomalies:
        assert "1 new KPI anomaly" in text
        assert "2026-10-12: new_registrations = 192.0 (spike" in text
        assert "trade_count" not in text

    assert run().success  # nothing new: nothing posted
    assert len(receiver.posts) == 1

    _compliance_mart(
        warehouse, [("a4", "rapid_in_out", "u4", "critical", 50_000.0, dt.datetime(2026, 10, 3))]
    )
    assert run().success
    assert len(receiver.posts) == 2
    assert "(alert a4)" in receiver.posts[1]["text"]
    assert "a1" not in receiver.posts[1]["text"]
    con = duckdb.connect(str(warehouse), read_only=True)
    sent = sorted(r[0] for r in con.execute("SELECT alert_key FROM ops.sent_alerts").fetchall())
    con.close()
    expected = ["compliance:a1", "compliance:a3", "compliance:a4"]
    if anomalies:
        expected.append("kpi_anomaly:2026-10-12:new_registrations")
    assert sent == expected


def test_the_webhook_post_is_json_over_httpx_and_fails_clearly(webhook, monkeypatch):
    """What post_json sends, and the two ways it fails (an answer that is not 2xx, nobody
    listening): an AlertWebhookError naming the cause, never a retry (the asset tries an unsent
    alert again on its next run)."""
    import socket

    from orchestration.resources import AlertWebhookError, AlertWebhookResource, post_json

    url, receiver = webhook
    post_json(url, {"text": "über 1 alert"}, timeout=5)
    assert receiver.posts == [{"text": "über 1 alert"}]
    receiver.fail_next = 2
    with pytest.raises(AlertWebhookError, match="webhook answered HTTP 500"):
        post_json(url, {"text": "lost"}, timeout=5)
    with pytest.raises(AlertWebhookError, match="webhook answered HTTP 500"):
        AlertWebhookResource(url=url, timeout_seconds=5).post({"text": "lost"})
    assert receiver.posts == [{"text": "über 1 alert"}]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(AlertWebhookError, match="webhook unreachable: ConnectError"):
        post_json(f"http://127.0.0.1:{port}/hook", {"text": "x"}, timeout=5)
    monkeypatch.delenv("EXCHANGE_ALERT_WEBHOOK_URL", raising=False)
    with pytest.raises(AlertWebhookError, match="set EXCHANGE_ALERT_WEBHOOK_URL"):
        AlertWebhookResource().post({"text": "x"})
    monkeypatch.setenv("EXCHANGE_ALERT_WEBHOOK_URL", url)
    AlertWebhookResource(timeout_seconds=5).post({"text": "from the environment"})
    assert receiver.posts[-1] == {"text": "from the environment"}


def test_a_broken_ledger_is_a_critical_data_quality_alert_and_heads_the_report(defs, tmp_path):
    """docs/reliability.md#financial-integrity: the critical data-quality alerts of the compliance
    mart go out apart from the AML alerts and head the daily report; the dbt step names the failing
    integrity tests (from dbt's run results) instead of failing, so those steps still run."""
    from orchestration import alerts
    from orchestration.assets.dbt import MANIFEST, financial_integrity_failures
    from orchestration.assets.report import render_report

    warehouse = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("CREATE SCHEMA marts")
    con.execute(
        "CREATE TABLE marts.fct_compliance_alerts AS SELECT * FROM (VALUES "
        "('r1', 'rule', 'large_transaction', 'u1', 'high', 25000.0, TIMESTAMP '2026-10-02 09:00',"
        " 'deposit of USDT', 'pending', 't1', 1), "
        "('d1', 'data_quality', 'ledger_balance_chain_broken', 'u2', 'critical', NULL,"
        " TIMESTAMP '2026-10-02 10:00', 'USDT ledger: balance_before differs from the previous"
        " balance_after', 'pending', 'USDT', 2)"
        ") AS t(alert_id, alert_source, rule_name, user_id, severity, amount_usd, detected_at,"
        " alert_details, investigation_status, hit_key, evidence_count)"
    )
    con.execute(
        "CREATE TABLE marts.fct_daily_exchange_kpis AS "
        "SELECT DATE '2026-10-02' AS kpi_date, 3 AS active_traders"
    )
    alerts.ensure_sent_alerts(con)
    pending = alerts.pending_compliance_alerts(con, "marts.fct_compliance_alerts")
    assert {(a.key, a.source) for a in pending} == {
        ("compliance:r1", "compliance"),
        ("compliance:d1", "data_quality"),
    }
    text = alerts.format_message(pending)["text"]
    assert "1 new critical data-quality alert (a broken ledger)" in text
    assert "1 new high-severity compliance alert" in text
    assert "[critical] ledger_balance_chain_broken (data_quality): user u2" in text

    _, markdown = render_report(con, "marts.fct_daily_exchange_kpis", "marts.fct_compliance_alerts")
    head = markdown.split("## KPIs")[0]
    assert "**CRITICAL: 1 data-quality alert**" in head
    assert "ledger_balance_chain_broken: user u2, USDT, 2 failing rows" in head
    assert "large_transaction" not in head
    con.execute("DELETE FROM marts.fct_compliance_alerts WHERE alert_source = 'data_quality'")
    _, markdown = render_report(con, "marts.fct_daily_exchange_kpis", "marts.fct_compliance_alerts")
    assert "Ledger invariants hold" in markdown
    con.close()

    tests = {
        node["name"]: unique_id
        for unique_id, node in MANIFEST["nodes"].items()
        if node["resource_type"] == "test"
    }
    run_results = {
        "results": [
            {
                "unique_id": tests["assert_transaction_balance_chains_hold"],
                "status": "warn",
                "failures": 2,
            },
            {
                "unique_id": tests["assert_wallet_balances_match_last_transaction"],
                "status": "pass",
                "failures": 0,
            },
            # a warning outside the financial-integrity tests is not an integrity failure
            {
                "unique_id": tests["assert_fill_candles_reconcile_with_market_data"],
                "status": "warn",
                "failures": 3,
            },
        ]
    }
    assert financial_integrity_failures(run_results, MANIFEST) == [
        "assert_transaction_balance_chains_hold (warn, 2 failing rows)"
    ]


# --------------------------------------------------------------------------------------
# quality gate


def test_blocking_expectations_stop_downstream_assets(defs, tmp_path):
    from orchestration.assets import landing_tables
    from orchestration.checks import CONTRACT_CHECK, raw_table_expectations
    from orchestration.resources import LandingResource, WarehouseResource

    @dg.asset(deps=[TRADES])
    def downstream_of_trades() -> None:
        pass

    def materialize(landing: Path, warehouse: Path):
        return dg.materialize(
            [landing_tables, raw_table_expectations, downstream_of_trades],
            selection=[TRADES, downstream_of_trades.key],
            resources={
                "warehouse": WarehouseResource(path=str(warehouse), lock_timeout_seconds=5),
                "landing": LandingResource(path=str(landing)),
            },
            raise_on_error=False,
        )

    def outcome(result):
        checks = {
            (e.asset_key, e.check_name): e.passed for e in result.get_asset_check_evaluations()
        }
        materialized = {e.asset_key for e in result.get_asset_materialization_events()}
        return checks, materialized

    # No trades landed: raw.trades is created empty and the row-count expectation fails.
    (tmp_path / "empty" / "trades").mkdir(parents=True)
    result = materialize(tmp_path / "empty", tmp_path / "bad.duckdb")
    checks, materialized = outcome(result)
    assert not result.success
    assert checks[(TRADES, CONTRACT_CHECK)] is False
    assert TRADES in materialized
    assert downstream_of_trades.key not in materialized

    # Two good fills: the gate passes and the downstream asset runs.
    _landing_file(
        tmp_path / "good",
        "trades/fills.csv",
        TRADES_HEADER
        + "\nt1,o1,u1,1,buy,0.5,60000,0.03,USDT,false,2026-10-01T10:00:00Z"
        + "\nt2,o2,u2,1,sell,0.5,60000,0.03,USDT,true,2026-10-01T10:00:00Z\n",
    )
    # Beside them, a file whose fills mostly have negative quantities (an upstream unit
    # change): Great Expectations holds it before the load, the good file loads.
    _landing_file(
        tmp_path / "good",
        "trades/fills_broken.csv",
        TRADES_HEADER
        + "\nt3,o3,u3,1,buy,-0.5,60000,0.03,USDT,false,2026-10-01T11:00:00Z"
        + "\nt4,o4,u4,1,sell,-0.5,60000,0.03,USDT,true,2026-10-01T11:00:00Z\n",
    )
    result = materialize(tmp_path / "good", tmp_path / "good.duckdb")
    checks, materialized = outcome(result)
    assert result.success
    assert checks[(TRADES, CONTRACT_CHECK)] is True
    assert downstream_of_trades.key in materialized
    held = tmp_path / "good" / "_held" / "trades" / "fills_broken.csv"
    assert held.exists() and not (tmp_path / "good" / "trades" / "fills_broken.csv").exists()
    assert (
        "expect_column_values_to_be_between(quantity)"
        in held.with_name("fills_broken.csv.reason.txt").read_text()
    )
    (load,) = [
        e.materialization.metadata
        for e in result.get_asset_materialization_events()
        if e.asset_key == TRADES
    ]
    assert load["files_held"].value == 1 and load["rows_loaded"].value == 2


# --------------------------------------------------------------------------------------
# one writer at a time


def test_dagster_waits_for_the_loaders_lock(tmp_path):
    from ingestion.loaders import WarehouseLockedError
    from orchestration.resources import WarehouseResource
    from warehouse import WarehouseLock

    path = tmp_path / "wh.duckdb"
    resource = WarehouseResource(path=str(path), lock_timeout_seconds=0.3)
    with WarehouseLock(path, timeout=0), pytest.raises(WarehouseLockedError), resource.connect():
        pass
    with resource.connect() as con:  # free again
        assert con.execute("SELECT 1").fetchone() == (1,)


def test_the_dbt_resource_skips_dagster_dbts_set_up_costs(monkeypatch):
    """The dbt version comes from this venv's dbt-core, not a `dbt --version` process, and no
    adapter is opened before a dbt step. The hooks are dagster-dbt's own (private) methods: an
    upgrade that renames them fails here rather than bringing their seconds back unseen."""
    from dagster_dbt import DbtCliResource

    from orchestration.resources import ExchangeDbtCliResource, dbt_resource

    for hook in ("_cli_version", "_initialize_dbt_core_adapter", "_get_unique_target_path"):
        assert hook in vars(DbtCliResource), f"dagster-dbt no longer has {hook}"
    printed = subprocess.run(
        [str(BIN / "dbt"), "--version"], capture_output=True, text=True, check=True
    ).stdout

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"ran {args}")

    monkeypatch.setattr("dagster_dbt.core.resource.check_output", no_subprocess)
    resource = dbt_resource()
    assert isinstance(resource, ExchangeDbtCliResource)
    assert f"installed: {resource._cli_version}" in printed
    assert resource._initialize_dbt_core_adapter(["build"]) is None


# --------------------------------------------------------------------------------------
# the CLI


def test_dagster_definitions_validate(defs):
    env = dict(os.environ, DO_NOT_TRACK="1", PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("DAGSTER_HOME", None)
    started = time.perf_counter()
    result = subprocess.run(
        [str(BIN / "dagster"), "definitions", "validate", "-m", "orchestration.definitions"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    seconds = time.perf_counter() - started
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    print(f"dagster definitions validate: {seconds:.1f}s")
