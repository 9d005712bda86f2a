"""Every environment variable of the project (``EXCHANGE_*``, the price APIs' keys), read in one
place.

:class:`Settings` is a frozen dataclass with one field per variable; each field's metadata
names the variable, what it does and who reads it. :func:`current` parses the environment
(once per distinct set of ``EXCHANGE_*`` values, so a test's ``monkeypatch.setenv`` is seen)
and every program asks it instead of reading ``os.environ``. A variable that does not parse
stops the program with :class:`SettingsError` naming it.

Some variables are read by dbt too (``profiles.yml``, ``macros/``): dbt cannot import Python,
so ``profiles.yml`` keeps its own defaults; ``tests/python/test_warehouse_settings.py`` holds
them equal to the ones here (or to the ``dbt`` default a field states where dbt's differs).
The README's configuration table is :func:`markdown_table` (``python -m warehouse``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

DEFAULT_WAREHOUSE = Path("data/warehouse.duckdb")
DEFAULT_LANDING = Path("data/landing")


class SettingsError(ValueError):
    """An environment variable holds a value its setting cannot take."""


def _path(value: str) -> Path:
    return Path(value).expanduser()


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError("must be at least 1")
    return number


def _non_negative(value: str) -> float:
    number = float(value)
    if number < 0:
        raise ValueError("must not be negative")
    return number


def _fraction(value: str) -> float:
    number = float(value)
    if not 0 <= number < 1:
        raise ValueError("must be in [0, 1)")
    return number


def _date(value: str) -> dt.date:
    try:
        return dt.datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise ValueError(
            "write it as YYYY-MM-DD (the first day of history), or unset it to start at the "
            "first day of the data"
        ) from None


def _flag(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be true or false")


def _setting(
    variable: str,
    default: Any,
    what: str,
    read_by: str,
    parse: Callable[[str], Any] = str,
    *,
    shown: str | None = None,
    dbt_defaults: tuple[str, ...] = (),
    secret: bool = False,
) -> Any:
    """A field bound to ``variable``. ``shown`` is the default as the table prints it (when the
    value is computed or absent); ``dbt_defaults`` are the defaults profiles.yml or a macro
    states where they differ from ``default``."""
    return field(
        default=default,
        repr=not secret,
        metadata={
            "variable": variable,
            "what": what,
            "read_by": read_by,
            "parse": parse,
            "shown": shown,
            "dbt_defaults": dbt_defaults,
        },
    )


@dataclass(frozen=True)
class Settings:
    """The project's configuration; build it with :func:`current` or :meth:`from_env`."""

    # Where things are
    warehouse: Path = _setting(
        "EXCHANGE_WAREHOUSE",
        DEFAULT_WAREHOUSE,
        "DuckDB warehouse file",
        "every program, dbt, Makefile",
        _path,
    )
    landing_dir: Path = _setting(
        "EXCHANGE_LANDING_DIR",
        DEFAULT_LANDING,
        "landing directory (`<landing>/<table>/` files)",
        "loaders, Dagster, BigQuery loader, Makefile",
        _path,
    )
    report_dir: Path = _setting(
        "EXCHANGE_REPORT_DIR",
        Path("data/reports"),
        "folder of the daily report files",
        "Dagster",
        _path,
    )
    # How DuckDB runs (warehouse.open_warehouse, dbt)
    duckdb_memory_limit: str = _setting(
        "EXCHANGE_DUCKDB_MEMORY_LIMIT",
        "3GB",
        "DuckDB memory limit; work beyond it spills to disk",
        "every program, dbt",
    )
    duckdb_temp_dir: str | None = _setting(
        "EXCHANGE_DUCKDB_TEMP_DIR",
        None,
        "where DuckDB spills",
        "every program, dbt",
        shown="`<warehouse>.tmp`",
        dbt_defaults=("",),  # profiles.yml: '' (unset), then <warehouse>.tmp as here
    )
    duckdb_threads: int | None = _setting(
        "EXCHANGE_DUCKDB_THREADS",
        None,
        "DuckDB worker threads",
        "every program, dbt",
        _positive_int,
        shown="one per core (dbt: `2`)",
        dbt_defaults=("2",),
    )
    # One dbt thread on DuckDB: a query already uses every core (duckdb_threads), and two
    # queries at once share one memory_limit and spill; a daily run's nodes are small, and two at
    # once overlap dbt's own Python (docs/reliability.md#scale-and-speed).
    duckdb_dbt_threads: int = _setting(
        "EXCHANGE_DBT_THREADS",
        1,
        "dbt threads on DuckDB (models built at once)",
        "dbt",
        _positive_int,
        shown="`1`; `2` in a daily run (var `test_days` set)",
        dbt_defaults=("2",),
    )
    lock_timeout: float | None = _setting(
        "EXCHANGE_LOADER_LOCK_TIMEOUT",
        None,
        "seconds a writer waits for the warehouse's lock (0: do not wait)",
        "loaders, price feeds, PostgreSQL tools, Dagster",
        _non_negative,
        shown="`300` (Dagster: `1800`)",
    )
    # The loaders
    loader_workers: int = _setting(
        "EXCHANGE_LOADER_WORKERS",
        2,
        "tables a load reads at once",
        "loaders",
        _positive_int,
    )
    loader_min_event_time: dt.datetime = _setting(
        "EXCHANGE_LOADER_MIN_EVENT_TIME",
        dt.datetime(2009, 1, 3),
        "earliest event time a load accepts (ISO date or time, UTC)",
        "loaders",
        dt.datetime.fromisoformat,
        shown="`2009-01-03` (the first Bitcoin block)",
    )
    loader_max_future_hours: float = _setting(
        "EXCHANGE_LOADER_MAX_FUTURE_HOURS",
        24.0,
        "hours past the load's start an event time may lie",
        "loaders",
        _non_negative,
    )
    # Dagster
    landing_settle_seconds: float = _setting(
        "EXCHANGE_LANDING_SETTLE_SECONDS",
        5.0,
        "a landing file younger than this is not loaded yet",
        "Dagster sensor",
        _non_negative,
    )
    partitions_start: dt.date | None = _setting(
        "EXCHANGE_PARTITIONS_START",
        None,
        "first daily partition (YYYY-MM-DD)",
        "Dagster",
        _date,
        shown="first day of the data",
    )
    dagster_postgres_url: str | None = _setting(
        "EXCHANGE_DAGSTER_POSTGRES_URL",
        None,
        "Dagster run storage in PostgreSQL (`postgresql+psycopg2://...`; unset: SQLite)",
        "Dagster instance",
        secret=True,
    )
    gx_sample_rows: int = _setting(
        "EXCHANGE_GX_SAMPLE_ROWS",
        100_000,
        "rows Great Expectations checks per table",
        "Dagster checks",
        _positive_int,
    )
    gx_docs_dir: Path = _setting(
        "EXCHANGE_GX_DOCS_DIR",
        Path("data/gx_docs"),
        "Great Expectations Data Docs of the landing batches",
        "landing expectations, Dagster",
        _path,
    )
    gx_batch_tolerance: float = _setting(
        "EXCHANGE_GX_BATCH_TOLERANCE",
        0.5,
        "share of a landing batch's rows that may break a rule before it is held",
        "landing expectations",
        _fraction,
    )
    freshness_hours: float = _setting(
        "EXCHANGE_FRESHNESS_HOURS",
        26.0,
        "age at which a source's data is stale",
        "Dagster checks",
        _non_negative,
    )
    alert_webhook_url: str | None = _setting(
        "EXCHANGE_ALERT_WEBHOOK_URL",
        None,
        "Slack-compatible webhook for alerts (unset: none sent)",
        "Dagster alerts",
        secret=True,
    )
    financial_integrity_fail_run: bool = _setting(
        "EXCHANGE_FINANCIAL_INTEGRITY_FAIL_RUN",
        True,
        "a failed financial-integrity test fails the dbt command",
        "dbt (on-run-end hook)",
        _flag,
        dbt_defaults=("true",),
    )
    # Airbyte (orchestration/assets/airbyte.py)
    airbyte_connections: str | None = _setting(
        "EXCHANGE_AIRBYTE_CONNECTIONS",
        None,
        "`table=connection-id` pairs synced by Airbyte",
        "Dagster",
    )
    airbyte_url: str = _setting(
        "EXCHANGE_AIRBYTE_URL",
        "http://localhost:8000/api/public/v1",
        "Airbyte API base URL",
        "Dagster",
    )
    airbyte_token: str | None = _setting(
        "EXCHANGE_AIRBYTE_TOKEN",
        None,
        "Airbyte bearer token",
        "Dagster",
        secret=True,
    )
    airbyte_client_id: str | None = _setting(
        "EXCHANGE_AIRBYTE_CLIENT_ID",
        None,
        "Airbyte application id (instead of a token)",
        "Dagster",
    )
    airbyte_client_secret: str | None = _setting(
        "EXCHANGE_AIRBYTE_CLIENT_SECRET",
        None,
        "Airbyte application secret",
        "Dagster",
        secret=True,
    )
    airbyte_timeout_seconds: float = _setting(
        "EXCHANGE_AIRBYTE_TIMEOUT_SECONDS",
        3600.0,
        "longest wait for one sync",
        "Dagster",
        _non_negative,
    )
    airbyte_poll_seconds: float = _setting(
        "EXCHANGE_AIRBYTE_POLL_SECONDS",
        10.0,
        "time between two looks at a sync",
        "Dagster",
        _non_negative,
    )
    airbyte_retry_seconds: float = _setting(
        "EXCHANGE_AIRBYTE_RETRY_SECONDS",
        60.0,
        "how long 429/5xx answers are retried",
        "Dagster",
        _non_negative,
    )
    # PostgreSQL
    postgres_dsn: str = _setting(
        "EXCHANGE_POSTGRES_DSN",
        "postgresql://postgres@127.0.0.1:5432/test",
        "PostgreSQL source/warehouse of `python -m ingestion.postgres` (no password in it)",
        "PostgreSQL tools",
    )
    casework_dsn: str | None = _setting(
        "EXCHANGE_CASEWORK_DSN",
        None,
        "a PostgreSQL warehouse for casework instead of DuckDB",
        "compliance casework",
    )
    pg_host: str = _setting("EXCHANGE_PG_HOST", "127.0.0.1", "PostgreSQL host", "dbt")
    pg_port: int = _setting("EXCHANGE_PG_PORT", 5432, "PostgreSQL port", "dbt", _positive_int)
    pg_user: str = _setting("EXCHANGE_PG_USER", "postgres", "PostgreSQL user", "dbt")
    pg_database: str = _setting("EXCHANGE_PG_DATABASE", "test", "PostgreSQL database", "dbt")
    pg_sslmode: str = _setting("EXCHANGE_PG_SSLMODE", "prefer", "PostgreSQL sslmode", "dbt")
    pg_threads: int = _setting(
        "EXCHANGE_PG_THREADS",
        2,
        "dbt threads on PostgreSQL",
        "dbt",
        _positive_int,
    )
    # BigQuery
    bq_project: str = _setting(
        "EXCHANGE_BQ_PROJECT",
        "your-gcp-project",
        "BigQuery project",
        "dbt, BigQuery loader",
        shown="`your-gcp-project` (emulator: `exchange-emulator`)",
        dbt_defaults=("exchange-emulator",),
    )
    bq_dataset: str = _setting(
        "EXCHANGE_BQ_DATASET",
        "crypto_exchange",
        "BigQuery dataset prefix",
        "dbt",
    )
    bq_location: str = _setting(
        "EXCHANGE_BQ_LOCATION",
        "US",
        "BigQuery location",
        "dbt, BigQuery loader",
    )
    bq_method: str = _setting(
        "EXCHANGE_BQ_METHOD",
        "service-account",
        "BigQuery authentication method",
        "dbt",
    )
    bq_priority: str = _setting(
        "EXCHANGE_BQ_PRIORITY",
        "interactive",
        "BigQuery job priority",
        "dbt",
    )
    bq_threads: int = _setting(
        "EXCHANGE_BQ_THREADS",
        4,
        "dbt threads on BigQuery",
        "dbt",
        _positive_int,
    )
    bq_api_endpoint: str | None = _setting(
        "EXCHANGE_BQ_API_ENDPOINT",
        None,
        "BigQuery API endpoint (the emulator's)",
        "dbt, BigQuery loader",
        shown="Google's (emulator target: `http://127.0.0.1:9050`)",
        dbt_defaults=("http://127.0.0.1:9050",),
    )
    # Price APIs (ingestion/external_prices)
    coingecko_api_key: str | None = _setting(
        "COINGECKO_API_KEY",
        None,
        "CoinGecko Pro key (unset: the public API)",
        "price feeds",
        secret=True,
    )
    coingecko_base_url: str | None = _setting(
        "COINGECKO_BASE_URL",
        None,
        "CoinGecko API base URL",
        "price feeds",
        shown="CoinGecko's public or Pro URL",
    )
    coinmarketcap_api_key: str | None = _setting(
        "COINMARKETCAP_API_KEY",
        None,
        "CoinMarketCap key (required by its API)",
        "price feeds",
        secret=True,
    )
    coinmarketcap_base_url: str | None = _setting(
        "COINMARKETCAP_BASE_URL",
        None,
        "CoinMarketCap API base URL",
        "price feeds",
        shown="CoinMarketCap's Pro URL",
    )
    # The dashboard's screenshots and browser test
    chromium: Path = _setting(
        "EXCHANGE_CHROMIUM",
        Path("/usr/bin/chromium"),
        "Chromium binary",
        "dashboard screenshots",
        _path,
    )
    chromedriver: Path = _setting(
        "EXCHANGE_CHROMEDRIVER",
        Path("/usr/bin/chromedriver"),
        "chromedriver binary",
        "dashboard screenshots",
        _path,
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Parse the variables set (an empty value counts as unset)."""
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = environ.get(f.metadata["variable"])
            if raw is None or not raw.strip():
                continue
            try:
                values[f.name] = f.metadata["parse"](raw.strip())
            except ValueError as e:
                raise SettingsError(
                    f"{f.metadata['variable']}={raw!r} is not a valid {f.name.replace('_', ' ')}: "
                    f"{e}"
                ) from None
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some settings changed (a command-line option over the environment);
        ``None`` values are ignored."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


def variables() -> dict[str, dataclasses.Field]:
    """Each variable's name and its field."""
    return {f.metadata["variable"]: f for f in fields(Settings)}


_VARIABLES = tuple(variables())
_cache: dict[tuple, Settings] = {}
_cache_lock = threading.Lock()


def current() -> Settings:
    """The settings of this process's environment, parsed once for each set of values (a test
    that sets a variable gets new settings; a program that sets none parses once)."""
    key = tuple(os.environ.get(name) for name in _VARIABLES)
    with _cache_lock:
        found = _cache.get(key)
        if found is None:
            found = _cache[key] = Settings.from_env()
            if len(_cache) > 64:  # a long test session: forget the oldest
                _cache.pop(next(iter(_cache)))
        return found


def _shown(f: dataclasses.Field) -> str:
    if f.metadata["shown"]:
        return f.metadata["shown"]
    if f.default is None:
        return "unset"
    value = f.default
    if isinstance(value, bool):
        value = str(value).lower()
    elif isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"`{value}`"


def markdown_table() -> str:
    """The configuration table the README shows."""
    lines = ["| variable | default | what | read by |", "| --- | --- | --- | --- |"]
    for f in fields(Settings):
        lines.append(
            f"| `{f.metadata['variable']}` | {_shown(f)} | {f.metadata['what']} "
            f"| {f.metadata['read_by']} |"
        )
    return "\n".join(lines)


TABLE_START = "<!-- settings table:"
TABLE_END = "<!-- end of settings table -->"


def with_table(text: str) -> str:
    """``text`` (the README) with the table between its markers replaced by the current one."""
    start = text.index("\n", text.index(TABLE_START)) + 1
    end = text.index(TABLE_END)
    return text[:start] + markdown_table() + "\n" + text[end:]
