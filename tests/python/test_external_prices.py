"""The external price loader (ingestion/external_prices) against a local HTTP server.

The server (http.server in a thread on 127.0.0.1, a random port) answers with the shapes of the
real CoinGecko and CoinMarketCap endpoints, and with the failures a loader meets: 429 with
Retry-After, 5xx, a response slower than the client's timeout, malformed JSON, 4xx. The
warehouse is a real DuckDB file per test (and a real PostgreSQL schema for the postgres test).
Delays are tiny or recorded instead of slept, so the file runs in a few seconds.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import os
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import duckdb
import pytest

from ingestion.external_prices import (
    CoinGeckoSource,
    CoinMarketCapSource,
    ConfigurationError,
    IncompleteLoadError,
    PriceObservation,
    PriceStore,
    RetryPolicy,
    load_external_prices,
    load_with_connection,
)
from ingestion.external_prices.cli import main as cli_main
from ingestion.external_prices.http_client import (
    JsonHttpClient,
    RequestFailedError,
    parse_retry_after,
)

NOW = dt.datetime(2026, 1, 10, 12, 0)
# Backoff and Retry-After waits go through a recorder (below), never a real sleep; the
# timeout is real but short.
FAST = RetryPolicy(
    max_attempts=3,
    backoff_base=0.01,
    backoff_max=0.04,
    max_rate_limit_waits=3,
    default_retry_after=0.01,
    max_retry_after=30,
    timeout=0.25,
)


# --------------------------------------------------------------------------------------
# The local API server


@dataclass
class Reply:
    status: int = 200
    body: object = None  # a str is sent as is, anything else as JSON
    headers: dict = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering


@dataclass
class Seen:
    path: str
    query: dict
    headers: dict


class FakeApi:
    """Scripted replies per path: each request takes the next reply; the last one repeats."""

    def __init__(self):
        self.routes: dict[str, list[Reply]] = {}
        self.requests: list[Seen] = []
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                parsed = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(parsed.query))
                with api.lock:
                    api.requests.append(Seen(parsed.path, query, dict(self.headers)))
                    queue = api.routes.get(parsed.path)
                    if not queue:
                        reply = Reply(404, {"error": f"no route {parsed.path}"})
                    else:
                        reply = queue.pop(0) if len(queue) > 1 else queue[0]
                if reply.delay:
                    time.sleep(reply.delay)
                body = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                data = body.encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def script(self, path: str, *replies: Reply) -> None:
        with self.lock:
            self.routes[path] = list(replies)

    def seen(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]


@pytest.fixture
def api():
    server = FakeApi()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


class SleepRecorder:
    def __init__(self):
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def waits():
    return SleepRecorder()


@pytest.fixture
def warehouse(tmp_path, monkeypatch):
    monkeypatch.setenv("EXCHANGE_LOADER_LOCK_TIMEOUT", "5")
    monkeypatch.setenv("EXCHANGE_DUCKDB_MEMORY_LIMIT", "1GB")
    for name in (
        "COINGECKO_API_KEY",
        "COINMARKETCAP_API_KEY",
        "COINGECKO_BASE_URL",
        "COINMARKETCAP_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "warehouse.duckdb"


# --------------------------------------------------------------------------------------
# Recorded-shape responses


def ms(when: dt.datetime) -> int:
    return int(when.replace(tzinfo=dt.UTC).timestamp() * 1000)


def seconds(when: dt.datetime) -> int:
    return int(when.replace(tzinfo=dt.UTC).timestamp())


def hour(h: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 1, 10, h, minute)


def market_chart(*points: tuple[dt.datetime, float]) -> dict:
    """The shape of GET /api/v3/coins/{id}/market_chart."""
    return {
        "prices": [[ms(t), p] for t, p in points],
        "market_caps": [[ms(t), p * 19_000_000] for t, p in points],
        "total_volumes": [[ms(t), 1.5e10] for t, _ in points],
    }


def simple_price(**coins: tuple[float, dt.datetime]) -> dict:
    """The shape of GET /api/v3/simple/price?...&include_last_updated_at=true."""
    return {coin: {"usd": p, "last_updated_at": seconds(t)} for coin, (p, t) in coins.items()}


def cmc_entry(symbol: str, price: float, when: dt.datetime, rank: int = 1) -> dict:
    return {
        "id": rank,
        "name": symbol.title(),
        "symbol": symbol,
        "cmc_rank": rank,
        "quote": {
            "USD": {
                "price": price,
                "volume_24h": 1.0e9,
                "last_updated": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            }
        },
    }


def cmc_status(total_count: int | None = None) -> dict:
    status = {
        "timestamp": "2026-01-10T12:00:00.000Z",
        "error_code": 0,
        "error_message": None,
        "elapsed": 10,
        "credit_count": 1,
    }
    if total_count is not None:
        status["total_count"] = total_count
    return status


BTC_CHART = "/api/v3/coins/bitcoin/market_chart"
ETH_CHART = "/api/v3/coins/ethereum/market_chart"
SIMPLE = "/api/v3/simple/price"
QUOTES = "/v1/cryptocurrency/quotes/latest"
LISTINGS = "/v1/cryptocurrency/listings/latest"


def script_coingecko(api: FakeApi) -> None:
    api.script(
        BTC_CHART,
        Reply(body=market_chart((hour(9), 90000.5), (hour(10), 90100.25), (hour(11), 90200.0))),
    )
    api.script(ETH_CHART, Reply(body=market_chart((hour(10), 3000.1), (hour(11), 3010.2))))
    api.script(
        SIMPLE,
        Reply(body=simple_price(bitcoin=(90250.75, hour(11, 58)), ethereum=(3011.0, hour(11, 58)))),
    )


def coingecko(api: FakeApi, waits: SleepRecorder, **options) -> CoinGeckoSource:
    options.setdefault("policy", FAST)
    return CoinGeckoSource(base_url=api.url, api_key="cg-test-key", sleep=waits, **options)


def coinmarketcap(api: FakeApi, waits: SleepRecorder, **options) -> CoinMarketCapSource:
    options.setdefault("policy", FAST)
    return CoinMarketCapSource(base_url=api.url, api_key="cmc-test-key", sleep=waits, **options)


def rows(warehouse, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def prices(warehouse) -> list[tuple]:
    return rows(
        warehouse,
        "SELECT source, asset, observed_at, price_usd FROM raw.external_prices "
        "ORDER BY source, asset, observed_at",
    )


def cursors(warehouse) -> dict:
    return {
        (s, a): t
        for s, a, t in rows(
            warehouse, "SELECT source, asset, last_observed_at FROM raw._external_price_cursors"
        )
    }


# --------------------------------------------------------------------------------------
# CoinGecko: a first run, a second run, dedupe


def test_coingecko_first_run_loads_history_and_latest_with_provenance(api, waits, warehouse):
    script_coingecko(api)
    result = load_external_prices(warehouse, [coingecko(api, waits)], ["BTC", "ETH"], now=NOW)

    assert result.sources["coingecko"].inserted == 7 and result.quarantined == 0
    assert prices(warehouse)[:4] == [
        ("coingecko", "BTC", hour(9), Decimal("90000.50000000")),
        ("coingecko", "BTC", hour(10), Decimal("90100.25000000")),
        ("coingecko", "BTC", hour(11), Decimal("90200.00000000")),
        ("coingecko", "BTC", hour(11, 58), Decimal("90250.75000000")),
    ]
    # Provenance as the file loader writes it; _source_file is the request URL.
    provenance = rows(
        warehouse,
        "SELECT DISTINCT _load_id, _source_file, _loaded_at IS NOT NULL "
        "FROM raw.external_prices WHERE asset = 'BTC' ORDER BY 2",
    )
    assert {p[0] for p in provenance} == {result.load_id}
    assert [p[1] for p in provenance] == [
        f"{api.url}{BTC_CHART}?vs_currency=usd&days=7",
        f"{api.url}{SIMPLE}?ids=bitcoin%2Cethereum&vs_currencies=usd&include_last_updated_at=true",
    ]
    assert rows(
        warehouse,
        "SELECT _row_number FROM raw.external_prices WHERE asset = 'BTC' "
        "AND _source_file LIKE '%market_chart%' ORDER BY 1",
    ) == [(1,), (2,), (3,)]
    # The key travels in the documented header, never in the URL.
    assert all(r.headers.get("x-cg-pro-api-key") == "cg-test-key" for r in api.requests)
    assert api.seen(BTC_CHART)[0].query == {"vs_currency": "usd", "days": "7"}
    assert api.seen(SIMPLE)[0].query["vs_currencies"] == "usd"
    assert cursors(warehouse) == {
        ("coingecko", "BTC"): hour(11, 58),
        ("coingecko", "ETH"): hour(11, 58),
    }


def test_second_run_fetches_only_what_is_new_and_loads_nothing_twice(api, waits, warehouse):
    script_coingecko(api)
    load_external_prices(warehouse, [coingecko(api, waits)], ["BTC", "ETH"], now=NOW)
    first = prices(warehouse)

    # The same answers again: nothing new.
    again = load_external_prices(warehouse, [coingecko(api, waits)], ["BTC", "ETH"], now=NOW)
    assert again.inserted == 0 and prices(warehouse) == first
    # Asked only for the days since the cursor.
    assert api.seen(BTC_CHART)[-1].query["days"] == "1"

    # An hour later the chart has one more point and the latest price moved on.
    api.script(
        BTC_CHART,
        Reply(body=market_chart((hour(10), 90100.25), (hour(11), 90200.0), (hour(12), 90300.0))),
    )
    api.script(
        SIMPLE,
        Reply(body=simple_price(bitcoin=(90310.0, hour(12, 30)), ethereum=(3011.0, hour(11, 58)))),
    )
    later = load_external_prices(
        warehouse, [coingecko(api, waits)], ["BTC", "ETH"], now=NOW + dt.timedelta(hours=1)
    )
    assert later.inserted == 2
    assert prices(warehouse) == sorted(
        first
        + [
            ("coingecko", "BTC", hour(12), Decimal("90300")),
            ("coingecko", "BTC", hour(12, 30), Decimal("90310")),
        ]
    )
    assert cursors(warehouse)[("coingecko", "BTC")] == hour(12, 30)
    assert cursors(warehouse)[("coingecko", "ETH")] == hour(11, 58)
    keys = rows(
        warehouse,
        "SELECT count(*), count(DISTINCT (source, asset, observed_at)) FROM raw.external_prices",
    )
    assert keys[0][0] == keys[0][1]


def test_same_observation_from_two_endpoints_is_loaded_once(api, waits, warehouse):
    api.script(BTC_CHART, Reply(body=market_chart((hour(10), 90100.25), (hour(11), 90200.0))))
    api.script(SIMPLE, Reply(body=simple_price(bitcoin=(90200.0, hour(11)))))
    result = load_external_prices(warehouse, [coingecko(api, waits)], ["BTC"], now=NOW)
    assert result.sources["coingecko"].inserted == 2
    assert result.sources["coingecko"].already_loaded == 1
    assert len(prices(warehouse)) == 2


def test_rows_landed_from_files_are_neither_refetched_nor_duplicated(api, waits, warehouse):
    # The simulator's files stand in for the API by default: the file loader's rows count.
    con = duckdb.connect(str(warehouse))
    con.execute("CREATE SCHEMA raw")
    con.execute(
        "CREATE TABLE raw.external_prices (source VARCHAR, asset VARCHAR, "
        "price_usd DECIMAL(20,8), observed_at TIMESTAMP, _load_id VARCHAR, "
        "_source_file VARCHAR, _row_number BIGINT, _loaded_at TIMESTAMP, extra VARCHAR)"
    )
    con.execute(
        "INSERT INTO raw.external_prices VALUES ('coingecko', 'BTC', 90100.25, ?, 'file-load', "
        "'external_prices/part-0.csv', 1, ?, 'drift')",
        [hour(10), NOW],
    )
    con.close()
    script_coingecko(api)
    result = load_external_prices(warehouse, [coingecko(api, waits)], ["BTC"], now=NOW)
    # Only what is newer than the file's latest row for the series: 11:00 and 11:58.
    assert result.inserted == 2
    assert [r[2] for r in prices(warehouse)] == [hour(10), hour(11), hour(11, 58)]


# --------------------------------------------------------------------------------------
# Failures: 429, 5xx, timeouts, 4xx, malformed JSON


def test_429_waits_what_retry_after_says_then_loads(api, waits, warehouse):
    script_coingecko(api)
    api.script(
        SIMPLE,
        Reply(
            429,
            {"status": {"error_code": 429, "error_message": "rate limited"}},
            headers={"Retry-After": "7"},
        ),
        Reply(body=simple_price(bitcoin=(90250.75, hour(11, 58)))),
    )
    result = load_external_prices(warehouse, [coingecko(api, waits)], ["BTC"], now=NOW)
    assert waits.waits == [7.0]
    assert len(api.seen(SIMPLE)) == 2 and result.inserted == 4


def test_429_without_end_gives_up_reports_it_and_loads_the_history(api, waits, warehouse):
    script_coingecko(api)
    api.script(SIMPLE, Reply(429, "{}", headers={"Retry-After": "1"}))
    with pytest.raises(IncompleteLoadError, match="coingecko BTC: .*still rate-limited") as error:
        load_external_prices(warehouse, [coingecko(api, waits)], ["BTC"], now=NOW)
    assert waits.waits == [1.0, 1.0, 1.0]
    # The history answered well and loads; only the latest price is missing (and reported).
    assert [r[2] for r in prices(warehouse)] == [hour(9), hour(10), hour(11)]
    assert error.value.result.inserted == 3 and len(error.value.result.failures) == 1


def test_5xx_is_retried_with_exponential_backoff(api, waits, warehouse):
    script_coingecko(api)
    api.script(
        BTC_CHART,
        Reply(503, "Service Unavailable"),
        Reply(502, "<html>Bad Gateway</html>"),
        Reply(body=market_chart((hour(11), 90200.0))),
    )
    result = load_external_prices(warehouse, [coingecko(api, waits)], ["BTC"], now=NOW)
    assert waits.waits == [0.01, 0.02]
    assert len(api.seen(BTC_CHART)) == 3 and result.inserted == 2


def test_one_asset_failing_every_time_loads_the_others_and_reports_it(api, waits, warehouse):
    # Issue 18 item 7: one asset's bad response never holds back the good ones.
    script_coingecko(api)
    api.script(ETH_CHART, Reply(500, "Internal Server Error"))
    with pytest.raises(
        IncompleteLoadError, match=r"coingecko ETH: .*gave up after 3 attempts; last: HTTP 500"
    ) as error:
        load_external_prices(warehouse, [coingecko(api, waits)], ["BTC", "ETH"], now=NOW)
    assert [f.assets for f in error.value.result.failures] == [("ETH",)]
    # BTC's history and latest price load; ETH gets nothing and no cursor (asked again next run).
    assert {r[1] for r in prices(warehouse)} == {"BTC"} and len(prices(warehouse)) == 4
    assert set(cursors(warehouse)) == {("coingecko", "BTC")}
    assert api.seen(SIMPLE)[-1].query["ids"] == "bitcoin"  # not asked for the failed asset
    # The next run, with ETH answering again, fills ETH from where it was.
    api.script(ETH_CHART, Reply(body=market_chart((hour(10), 3000.1), (hour(11), 3010.2))))
    api.script(
        SIMPLE,
        Reply(body=simple_price(bitcoin=(90250.75, hour(11, 58)), ethereum=(3011.0, hour(11, 58)))),
    )
    again = load_external_prices(warehouse, [coingecko(api, waits)], ["BTC", "ETH"], now=NOW)
    assert again.complete and again.inserted == 3


def test_a_response_slower_than_the_timeout_is_retried(api, waits, warehouse):
    script_coingecko(api)
    api.script(
        BTC_CHART,
        Reply(body=market_chart((hour(11), 1.0)), delay=1.0),
        Reply(body=market_chart((hour(11), 90200.0))),
    )
    started = time.monotonic()
    result = load_external_prices(warehouse, [coingecko(api, waits)], ["BTC"], now=NOW)
    assert time.monotonic() - started < 5
    assert len(api.seen(BTC_CHART)) == 2 and waits.waits == [0.01]
    assert result.inserted == 2 and ("coingecko", "BTC", hour(11), Decimal("90200")) in prices(
        warehouse
    )


def test_timeouts_every_time_fail_clearly(api, waits, warehouse):
    api.script(SIMPLE, Reply(body=simple_price(bitcoin=(1.0, hour(11))), delay=0.6))
    api.script(BTC_CHART, Reply(body=market_chart((hour(11), 1.0))))
    policy = RetryPolicy(max_attempts=2, backoff_base=0.01, timeout=0.2)
    with pytest.raises(IncompleteLoadError, match="gave up after 2 attempts; last: ReadTimeout"):
        load_external_prices(warehouse, [coingecko(api, waits, policy=policy)], ["BTC"], now=NOW)
    assert [r[2] for r in prices(warehouse)] == [hour(11)]  # the history that answered


def test_4xx_is_not_retried(api, waits, warehouse):
    api.script(BTC_CHART, Reply(401, {"status": {"error_code": 10002, "error_message": "bad key"}}))
    with pytest.raises(IncompleteLoadError, match="HTTP 401 \\(not retried\\).*bad key"):
        load_external_prices(warehouse, [coingecko(api, waits)], ["BTC"], now=NOW)
    assert len(api.requests) == 1 and waits.waits == []


# The client alone (tenacity's retries), against the local server: which answers are retried,
# how long it waits, when it gives up.


def client(api, waits, **policy) -> JsonHttpClient:
    return JsonHttpClient(api.url, policy=RetryPolicy(**{**FAST.__dict__, **policy}), sleep=waits)


def test_429_waits_do_not_use_up_the_attempts_against_failures(api, waits):
    api.script(
        "/p",
        Reply(503, "busy"),
        Reply(429, "{}", headers={"Retry-After": "2"}),
        Reply(500, "oops"),
        Reply(429, "{}"),  # no Retry-After: the policy's default
        Reply(body={"ok": 1.5}),
    )
    with client(api, waits, max_attempts=3, default_retry_after=4) as http:
        assert http.get_json("/p") == {"ok": Decimal("1.5")}
    assert waits.waits == [0.01, 2.0, 0.02, 4.0] and len(api.seen("/p")) == 5


def test_backoff_doubles_up_to_its_cap_then_gives_up(api, waits):
    api.script("/p", Reply(502, "<html>Bad Gateway</html>"))
    with (
        client(api, waits, max_attempts=5, backoff_max=0.025) as http,
        pytest.raises(
            RequestFailedError, match=r"/p: gave up after 5 attempts; last: HTTP 502: <html>Bad"
        ),
    ):
        http.get_json("/p")
    assert waits.waits == [0.01, 0.02, 0.025, 0.025] and len(api.seen("/p")) == 5


def test_retry_after_as_a_date_and_capped(api, waits):
    later = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(hours=2), True)
    api.script(
        "/p",
        Reply(429, "{}", headers={"Retry-After": "9999"}),
        Reply(429, "{}", headers={"Retry-After": later}),
        Reply(body=[1]),
    )
    with client(api, waits, max_retry_after=30) as http:
        assert http.get_json("/p") == [1]
    assert waits.waits == [30, 30]


def test_rate_limited_past_the_budget_gives_up(api, waits):
    api.script("/p", Reply(429, "{}", headers={"Retry-After": "0"}))
    with (
        client(api, waits, max_rate_limit_waits=2) as http,
        pytest.raises(RequestFailedError, match="still rate-limited \\(429\\) after 2 waits"),
    ):
        http.get_json("/p")
    assert waits.waits == [0.0, 0.0] and len(api.seen("/p")) == 3


def test_a_refused_connection_is_retried_then_reported(waits):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    http = JsonHttpClient(f"http://127.0.0.1:{port}", policy=FAST, sleep=waits)
    with http, pytest.raises(RequestFailedError, match="gave up after 3 attempts; last: Connect"):
        http.get_json("/p")
    assert waits.waits == [0.01, 0.02]


def test_a_client_error_is_not_retried(api, waits):
    api.script("/p", Reply(404, "no such coin"), Reply(body=[1]))
    with (
        client(api, waits) as http,
        pytest.raises(RequestFailedError, match="HTTP 404 \\(not retried\\): no such coin"),
    ):
        http.get_json("/p")
    assert waits.waits == [] and len(api.seen("/p")) == 1


def test_malformed_json_fails_clearly_and_keeps_the_cursor_of_what_failed(api, waits, warehouse):
    script_coingecko(api)
    load_external_prices(warehouse, [coingecko(api, waits)], ["BTC", "ETH"], now=NOW)
    before_prices, before_cursors = prices(warehouse), cursors(warehouse)

    api.script(BTC_CHART, Reply(body={"error": "coin not found"}))
    api.script(SIMPLE, Reply(body='{"bitcoin": {"usd": 95100.0, "last_updated_at": 17'))
    with pytest.raises(IncompleteLoadError) as error:
        load_external_prices(
            warehouse, [coingecko(api, waits)], ["BTC", "ETH"], now=NOW + dt.timedelta(hours=1)
        )
    message = str(error.value)
    assert "expected an object with a 'prices' list" in message  # BTC's history
    assert f"{api.url}{SIMPLE}" in message and "not valid JSON" in message  # ETH's latest
    assert waits.waits == []  # not retried: the same body would come back
    assert prices(warehouse) == before_prices and cursors(warehouse) == before_cursors
    assert rows(warehouse, "SELECT count(*) FROM raw._quarantine")[0][0] == 0


def test_bad_records_are_quarantined_and_the_rest_loads(api, waits, warehouse):
    api.script(
        BTC_CHART,
        Reply(
            body={
                "prices": [
                    [ms(hour(9)), 90000.0],
                    [ms(hour(10)), -5],
                    [ms(hour(11)), None],
                    "garbage",
                    [ms(hour(11, 30)), 1e-12],
                ]
            }
        ),
    )
    api.script(
        SIMPLE, Reply(body={"bitcoin": {"usd": 90250.75, "last_updated_at": seconds(hour(11, 58))}})
    )
    result = load_external_prices(warehouse, [coingecko(api, waits)], ["BTC"], now=NOW)
    assert result.inserted == 2 and result.quarantined == 4
    quarantined = rows(
        warehouse,
        "SELECT table_name, source_file, row_number, reason, load_id "
        "FROM raw._quarantine ORDER BY row_number",
    )
    assert [q[2] for q in quarantined] == [2, 3, 4, 5]
    assert {q[0] for q in quarantined} == {"external_prices"}
    assert {q[4] for q in quarantined} == {result.load_id}
    assert quarantined[0][1] == f"{api.url}{BTC_CHART}?vs_currency=usd&days=7"
    assert quarantined[0][3] == "coingecko: BTC: price_usd: must be positive, got -5"
    assert "not a number, got None" in quarantined[1][3]
    assert "expected [milliseconds, price]" in quarantined[2][3]
    assert "rounds to 0 at 8 decimal places" in quarantined[3][3]


def test_rerun_does_not_quarantine_the_same_bad_records_again(api, waits, warehouse):
    # Issue 18: "the same bad records are quarantined again on every run (14, 28, 42, ...)".
    api.script(
        BTC_CHART,
        Reply(body={"prices": [[ms(hour(9)), 90000.0], [ms(hour(10)), -5], "garbage"]}),
    )
    api.script(SIMPLE, Reply(body={"bitcoin": {"usd": 0, "last_updated_at": seconds(hour(11))}}))
    counts, newly = [], []
    for run in range(3):  # the API keeps serving the same bad records (another days= each run)
        result = load_external_prices(
            warehouse, [coingecko(api, waits)], ["BTC"], now=NOW + dt.timedelta(days=run)
        )
        newly.append((result.quarantined, result.sources["coingecko"].rejected))
        counts.append(rows(warehouse, "SELECT count(*) FROM raw._quarantine")[0][0])
    assert counts == [3, 3, 3]
    assert newly == [(3, 3), (0, 3), (0, 3)]  # still seen (and counted) every run
    assert len({r.query["days"] for r in api.seen(BTC_CHART)}) == 3  # different URLs


def _staging_pick(warehouse) -> dict:
    """The price staging keeps per key: latest_version's order
    (docs/landing_contract.md#keys-and-versions)."""
    return {
        (s, a, t): p
        for s, a, t, p in rows(
            warehouse,
            "SELECT source, asset, observed_at, price_usd FROM (SELECT *, row_number() OVER ("
            "PARTITION BY source, asset, observed_at ORDER BY _loaded_at DESC, "
            "_source_file DESC, _row_number DESC) AS rank FROM raw.external_prices) WHERE rank = 1",
        )
    }


def test_duplicates_resolve_like_the_file_loader_and_are_reported(api, waits, warehouse, tmp_path):
    # Issue 18: "the HTTP price loader keeps the first, the file loader the last, so the same
    # input stores different prices". The same two deliveries of one key through both loaders.
    from ingestion.loaders import LoaderSettings, load_landing

    first, second = 467.74, 410.0
    api.script(
        BTC_CHART,
        Reply(body=market_chart((hour(9), 90000.0), (hour(10), first), (hour(10), second))),
    )
    api.script(SIMPLE, Reply(body=simple_price(bitcoin=(90250.75, hour(11, 58)))))
    result = load_external_prices(warehouse, [coingecko(api, waits)], ["BTC"], now=NOW)
    [conflict] = result.conflicts
    assert (conflict.kept_price, conflict.other_price) == (Decimal("410"), Decimal("467.74"))
    assert "record 3" in conflict.kept_from and "record 2" in conflict.other_from
    http_pick = _staging_pick(warehouse)

    landing = tmp_path / "landing"
    (landing / "external_prices").mkdir(parents=True)
    (landing / "external_prices" / "part-0.jsonl").write_text(
        "".join(
            json.dumps({"source": "coingecko", "asset": "BTC", "price_usd": p, "observed_at": t})
            + "\n"
            for t, p in [
                ("2026-01-10T09:00:00Z", 90000.0),
                ("2026-01-10T10:00:00Z", first),
                ("2026-01-10T10:00:00Z", second),
                ("2026-01-10T11:58:00Z", 90250.75),
            ]
        )
    )
    files_warehouse = tmp_path / "files.duckdb"
    load_landing(landing, files_warehouse, "external_prices", settings=LoaderSettings(workers=1))
    file_pick = _staging_pick(files_warehouse)
    assert http_pick == file_pick
    assert http_pick[("coingecko", "BTC", hour(10))] == Decimal("410")

    # A later delivery with another price for a loaded key (the cursor normally keeps the API
    # from sending one; a file may) is written, so staging keeps it, and reported; the same
    # price again is not written.
    later = [
        PriceObservation("coingecko", "BTC", Decimal("90000"), hour(9), "replay", 1),
        PriceObservation("coingecko", "BTC", Decimal("415.5"), hour(10), "replay", 2),
    ]
    with duckdb.connect(str(warehouse)) as con:
        written = PriceStore(con).write("replay-load", later, [])
    assert [(c.kept_price, c.other_price) for c in written.conflicts] == [
        (Decimal("415.5"), Decimal("410"))
    ]
    assert written.counts == {"coingecko": (1, 1)}
    assert _staging_pick(warehouse)[("coingecko", "BTC", hour(10))] == Decimal("415.5")


def test_cli_exits_non_zero_when_one_asset_fails_and_loads_the_rest(
    api, waits, warehouse, monkeypatch, capsys
):
    script_coingecko(api)
    api.script(ETH_CHART, Reply(404, {"error": "coin not found"}))
    monkeypatch.setenv("COINGECKO_BASE_URL", api.url)
    code = cli_main(
        ["--warehouse", str(warehouse), "--sources", "coingecko", "--assets", "BTC,ETH"]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert "FAILED: coingecko ETH" in captured.out and "HTTP 404" in captured.err
    assert {r[1] for r in prices(warehouse)} == {"BTC"}


def test_parse_retry_after():
    now = dt.datetime(2026, 1, 10, 12, 0, tzinfo=dt.UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Sat, 10 Jan 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Sat, 10 Jan 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


# --------------------------------------------------------------------------------------
# CoinMarketCap


def test_coinmarketcap_quotes_latest(api, waits, warehouse):
    api.script(
        QUOTES,
        Reply(
            body={
                "status": cmc_status(),
                "data": {
                    "BTC": cmc_entry("BTC", 90123.456789123, hour(11, 59)),
                    "ETH": cmc_entry("ETH", 3005.5, hour(11, 58), rank=2),
                },
            }
        ),
    )
    result = load_external_prices(warehouse, [coinmarketcap(api, waits)], ["BTC", "ETH"], now=NOW)
    assert result.sources["coinmarketcap"].inserted == 2
    assert prices(warehouse) == [
        ("coinmarketcap", "BTC", hour(11, 59), Decimal("90123.45678912")),
        ("coinmarketcap", "ETH", hour(11, 58), Decimal("3005.50000000")),
    ]
    request = api.seen(QUOTES)[0]
    assert request.query == {"symbol": "BTC,ETH", "convert": "USD"}
    assert request.headers.get("X-CMC_PRO_API_KEY") == "cmc-test-key"
    # The quote has not moved on: the second run loads nothing.
    again = load_external_prices(warehouse, [coinmarketcap(api, waits)], ["BTC", "ETH"], now=NOW)
    assert again.inserted == 0 and again.sources["coinmarketcap"].fetched == 0
    assert len(prices(warehouse)) == 2


def test_coinmarketcap_listings_are_paginated(api, waits, warehouse):
    pages = [
        [cmc_entry("BTC", 90000.0, hour(11), 1), cmc_entry("ETH", 3000.0, hour(11), 2)],
        [cmc_entry("USDT", 1.0001, hour(11), 3), cmc_entry("SOL", 150.25, hour(11), 4)],
        [cmc_entry("XRP", 0.61, hour(11), 5)],
    ]
    api.script(LISTINGS, *[Reply(body={"status": cmc_status(5), "data": page}) for page in pages])
    source = coinmarketcap(api, waits, mode="listings", page_size=2)
    result = load_external_prices(warehouse, [source], ["SOL", "XRP"], now=NOW)
    assert [r.query["start"] for r in api.seen(LISTINGS)] == ["1", "3", "5"]
    assert {r.query["limit"] for r in api.seen(LISTINGS)} == {"2"}
    assert result.inserted == 2
    assert [(r[1], r[3]) for r in prices(warehouse)] == [
        ("SOL", Decimal("150.25")),
        ("XRP", Decimal("0.61")),
    ]
    provenance = rows(
        warehouse, "SELECT asset, _source_file, _row_number FROM raw.external_prices ORDER BY asset"
    )
    assert provenance[0][1].endswith("start=3&limit=2&convert=USD") and provenance[0][2] == 2
    assert provenance[1][1].endswith("start=5&limit=2&convert=USD") and provenance[1][2] == 1


def test_coinmarketcap_listings_stop_once_every_asset_is_found(api, waits, warehouse):
    api.script(
        LISTINGS,
        Reply(
            body={
                "status": cmc_status(5),
                "data": [
                    cmc_entry("BTC", 90000.0, hour(11), 1),
                    cmc_entry("ETH", 3000.0, hour(11), 2),
                ],
            }
        ),
    )
    source = coinmarketcap(api, waits, mode="listings", page_size=2)
    load_external_prices(warehouse, [source], ["ETH"], now=NOW)
    assert len(api.seen(LISTINGS)) == 1


def test_coinmarketcap_api_error_status_is_reported(api, waits, warehouse):
    api.script(
        QUOTES,
        Reply(
            body={
                "status": {
                    **cmc_status(),
                    "error_code": 400,
                    "error_message": 'Invalid value for "symbol"',
                },
                "data": {},
            }
        ),
    )
    with pytest.raises(IncompleteLoadError, match='API error 400: Invalid value for "symbol"'):
        load_external_prices(warehouse, [coinmarketcap(api, waits)], ["BTC"], now=NOW)


def test_coinmarketcap_needs_a_key_for_the_real_host(monkeypatch):
    monkeypatch.delenv("COINMARKETCAP_API_KEY", raising=False)
    monkeypatch.delenv("COINMARKETCAP_BASE_URL", raising=False)
    with pytest.raises(ConfigurationError, match="COINMARKETCAP_API_KEY is not set"):
        CoinMarketCapSource()
    monkeypatch.setenv("COINMARKETCAP_API_KEY", "from-env")
    source = CoinMarketCapSource()
    assert source.client._client.headers["X-CMC_PRO_API_KEY"] == "from-env"
    source.close()


def test_coingecko_key_from_env_selects_the_pro_host(monkeypatch):
    monkeypatch.delenv("COINGECKO_BASE_URL", raising=False)
    monkeypatch.delenv("COINGECKO_API_KEY", raising=False)
    assert CoinGeckoSource().base_url == "https://api.coingecko.com"
    monkeypatch.setenv("COINGECKO_API_KEY", "pro-key")
    source = CoinGeckoSource()
    assert source.base_url == "https://pro-api.coingecko.com"
    assert source.client._client.headers["x-cg-pro-api-key"] == "pro-key"
    source.close()


# --------------------------------------------------------------------------------------
# Both sources, the CLI, PostgreSQL


def test_both_sources_in_one_run_and_the_cli(api, waits, warehouse, monkeypatch, capsys):
    script_coingecko(api)
    api.script(
        QUOTES,
        Reply(
            body={"status": cmc_status(), "data": {"BTC": cmc_entry("BTC", 90111.0, hour(11, 59))}}
        ),
    )
    monkeypatch.setenv("COINGECKO_BASE_URL", api.url)
    monkeypatch.setenv("COINMARKETCAP_BASE_URL", api.url)
    monkeypatch.setenv("COINMARKETCAP_API_KEY", "cmc-test-key")
    assert (
        cli_main(["--warehouse", str(warehouse), "--assets", "btc", "--json", "--timeout", "2"])
        == 0
    )
    printed = json.loads(capsys.readouterr().out)
    assert printed["assets"] == ["BTC"]
    assert printed["sources"]["coingecko"]["inserted"] == 4
    assert printed["sources"]["coinmarketcap"]["inserted"] == 1
    assert set(cursors(warehouse)) == {("coingecko", "BTC"), ("coinmarketcap", "BTC")}

    api.script(QUOTES, Reply(body="<html>oops</html>"))
    assert cli_main(["--warehouse", str(warehouse), "--assets", "BTC", "--max-attempts", "1"]) == 1
    captured = capsys.readouterr()
    assert "not valid JSON" in captured.err and "keep their cursors" in captured.err
    assert "FAILED: coinmarketcap BTC" in captured.out  # the summary names what failed
    assert len(prices(warehouse)) == 5


@pytest.mark.postgres
def test_postgres_warehouse(api, waits, postgres_dsn):
    dsn = postgres_dsn
    import psycopg2

    schema = f"external_prices_test_{os.getpid()}"
    con = psycopg2.connect(dsn)
    try:
        script_coingecko(api)
        first = load_with_connection(
            con, [coingecko(api, waits)], ["BTC", "ETH"], now=NOW, schema=schema
        )
        again = load_with_connection(
            con, [coingecko(api, waits)], ["BTC", "ETH"], now=NOW, schema=schema
        )
        with con.cursor() as cur:
            cur.execute(
                f"SELECT count(*), count(DISTINCT (source, asset, observed_at)) "
                f"FROM {schema}.external_prices"
            )
            counts = cur.fetchone()
            cur.execute(
                f"SELECT asset, last_observed_at FROM {schema}._external_price_cursors "
                f"ORDER BY asset"
            )
            cursor_rows = cur.fetchall()
        assert first.inserted == 7 and again.inserted == 0 and counts == (7, 7)
        assert cursor_rows == [("BTC", hour(11, 58)), ("ETH", hour(11, 58))]
    finally:
        con.rollback()
        with con.cursor() as cur:
            cur.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        con.commit()
        con.close()
