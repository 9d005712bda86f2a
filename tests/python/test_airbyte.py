"""Airbyte syncs from Dagster (docs/airbyte.md) against a local HTTP server that answers as the
Airbyte public API does: a real server on 127.0.0.1 in a thread, its bodies built from the
SDK's own models (``models.JobResponse``), so the SDK parses exactly what it would get.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator

import dagster as dg
import pytest
from airbyte_api import models

from orchestration.assets.airbyte import (
    AirbyteConfigError,
    AirbyteSettings,
    AirbyteSyncError,
    build_airbyte_assets,
    parse_connections,
    sync_connection,
    without_airbyte_tables,
)
from orchestration.assets.dbt import DBT_ASSETS, node_asset_key
from orchestration.assets.landing import TABLE_KEYS, landing_tables
from orchestration.resources import default_resources

CONNECTION = "9f3c2a4e-1b2d-4c5e-8f90-123456789abc"
TOKEN = "test-token"


def job_body(job_id: int, status: str, rows: int | None = None) -> bytes:
    job = models.JobResponse(
        connection_id=CONNECTION,
        job_id=job_id,
        job_type=models.JobTypeEnum.SYNC,
        start_time="2026-12-05T04:00:00Z",
        status=models.JobStatusEnum(status),
        rows_synced=rows,
        bytes_synced=None if rows is None else rows * 100,
    )
    return json.dumps(job.model_dump(by_alias=True, exclude_none=True)).encode()


class FakeAirbyte:
    """Scripted answers: ``statuses`` for the job's successive GETs; ``fail`` per route."""

    def __init__(self):
        self.job_id = 4711
        self.statuses: list[str] = ["running", "succeeded"]
        self.create_status = "pending"
        self.errors: dict[str, list[int]] = {}  # "POST /jobs" -> HTTP codes to answer first
        self.requests: list[tuple[str, str, dict]] = []
        self.cancelled: list[int] = []

    def handle(self, handler: http.server.BaseHTTPRequestHandler) -> tuple[int, bytes]:
        length = int(handler.headers.get("Content-Length") or 0)
        body = json.loads(handler.rfile.read(length) or b"{}") if length else {}
        route = f"{handler.command} {handler.path.split('?')[0]}"
        self.requests.append((route, handler.headers.get("Authorization", ""), body))
        pending = self.errors.get(route.rsplit("/", 1)[0] if route[-1].isdigit() else route)
        if pending:
            return pending.pop(0), b'{"message": "scripted error"}'
        if handler.headers.get("Authorization") != f"Bearer {TOKEN}":
            return 401, b'{"message": "Unauthorized"}'
        if route == "POST /v1/jobs":
            assert body == {"connectionId": CONNECTION, "jobType": "sync"}, body
            return 200, job_body(self.job_id, self.create_status)
        if route == f"GET /v1/jobs/{self.job_id}":
            status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
            return 200, job_body(self.job_id, status, rows=42 if status == "succeeded" else None)
        if route == f"DELETE /v1/jobs/{self.job_id}":
            self.cancelled.append(self.job_id)
            return 200, job_body(self.job_id, "cancelled")
        return 404, b'{"message": "not found"}'


@pytest.fixture
def airbyte() -> Iterator[tuple[FakeAirbyte, str]]:
    fake = FakeAirbyte()

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self):
            status, body = fake.handle(self)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_DELETE = _answer

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def settings(url: str, **overrides) -> AirbyteSettings:
    values = {"server_url": url, "token": TOKEN, "poll_seconds": 0.01, "retry_seconds": 3.0}
    return AirbyteSettings(**(values | overrides))


def run(url: str, **overrides):
    s = settings(url, **overrides)
    return sync_connection(
        s.client(),
        "support_tickets",
        CONNECTION,
        timeout_seconds=s.timeout_seconds,
        poll_seconds=s.poll_seconds,
    )


def test_sync_succeeds_after_polling(airbyte):
    fake, url = airbyte
    fake.statuses = ["running", "incomplete", "running", "succeeded"]
    result = run(url)
    assert (result.job_id, result.status, result.rows_synced) == (4711, "succeeded", 42)
    routes = [r for r, _, _ in fake.requests]
    assert routes == ["POST /v1/jobs"] + ["GET /v1/jobs/4711"] * 4
    assert {auth for _, auth, _ in fake.requests} == {f"Bearer {TOKEN}"}


@pytest.mark.parametrize("status", ["failed", "cancelled"])
def test_failed_or_cancelled_job_raises_with_job_id(airbyte, status):
    fake, url = airbyte
    fake.statuses = ["running", status]
    with pytest.raises(AirbyteSyncError, match=f"job 4711 {status}") as error:
        run(url)
    assert error.value.job_id == 4711
    assert CONNECTION in str(error.value)


def test_timeout_cancels_the_job(airbyte):
    fake, url = airbyte
    fake.statuses = ["running"]
    with pytest.raises(AirbyteSyncError, match="job 4711 still running .*timed out, job cancelled"):
        run(url, timeout_seconds=0.05)
    assert fake.cancelled == [4711]


def test_unauthorized_fails_without_retrying(airbyte):
    fake, url = airbyte
    with pytest.raises(AirbyteSyncError, match="HTTP 401 \\(the credentials were refused\\)"):
        run(url, token="wrong")
    assert [r for r, _, _ in fake.requests] == ["POST /v1/jobs"]


def test_5xx_is_retried_then_succeeds(airbyte):
    fake, url = airbyte
    fake.errors = {"POST /v1/jobs": [503, 502], "GET /v1/jobs": [500]}
    result = run(url)
    assert result.status == "succeeded"
    routes = [r for r, _, _ in fake.requests]
    assert routes.count("POST /v1/jobs") == 3
    assert routes.count("GET /v1/jobs/4711") == 3  # 500, then running, then succeeded


def test_5xx_that_persists_fails_with_the_job_id(airbyte):
    fake, url = airbyte
    fake.errors = {"GET /v1/jobs": [500] * 1000}
    with pytest.raises(AirbyteSyncError, match="job 4711: could not read its status: HTTP 500"):
        run(url, retry_seconds=1.0)
    assert len(fake.requests) > 2  # retried before giving up


def test_parse_connections():
    assert parse_connections(f" support_tickets={CONNECTION} ,") == {"support_tickets": CONNECTION}
    assert parse_connections(None) == {}
    with pytest.raises(AirbyteConfigError, match="not a source table"):
        parse_connections("tickets=abc")
    with pytest.raises(AirbyteConfigError, match="not table=connection-id"):
        parse_connections("support_tickets")
    with pytest.raises(AirbyteConfigError, match="no Airbyte credentials"):
        AirbyteSettings().security()


def test_asset_replaces_the_loader_and_materializes(airbyte, monkeypatch):
    """The sync is the asset keyed like the dbt source; the loader no longer defines that key;
    a failure fails the materialization with the job id."""
    fake, url = airbyte
    key = TABLE_KEYS["support_tickets"]
    assert key == dg.AssetKey(["exchange", "support_tickets"])
    connections = {"support_tickets": CONNECTION}
    syncs = build_airbyte_assets(connections)
    loader = without_airbyte_tables(landing_tables, connections)
    assert key in syncs.keys and key not in loader.keys
    assert set(loader.keys) | set(syncs.keys) == set(landing_tables.keys)
    defs = dg.Definitions(assets=[loader, syncs, *DBT_ASSETS], resources=default_resources())
    graph = defs.resolve_asset_graph()
    # lineage: the sync feeds the dbt staging model of the source it writes
    staging = node_asset_key("stg_exchange__support_tickets")
    assert key in graph.get(staging).parent_keys
    assert graph.get(key).assets_def.node_def.name == "airbyte_syncs"

    monkeypatch.setenv("EXCHANGE_AIRBYTE_URL", url)
    monkeypatch.setenv("EXCHANGE_AIRBYTE_TOKEN", TOKEN)
    monkeypatch.setenv("EXCHANGE_AIRBYTE_POLL_SECONDS", "0.01")
    result = dg.materialize([syncs])
    assert result.success
    [event] = result.get_asset_materialization_events()
    metadata = event.materialization.metadata
    assert event.asset_key == key
    assert metadata["airbyte/job_id"].value == 4711
    assert metadata["rows_synced"].value == 42

    fake.statuses = ["failed"]
    failed = dg.materialize([syncs], raise_on_error=False)
    assert not failed.success
    [failure] = [e for e in failed.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "job 4711 failed" in failure.step_failure_data.error.cause.message or (
        "job 4711 failed" in failure.step_failure_data.error.message
    )
