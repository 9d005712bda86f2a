"""A run of the external price loader: read cursors, call the APIs, write what is new.

:func:`load_external_prices` is what the CLI and an orchestrator call. Every source is fetched
first, then everything good is written in one transaction. A request that fails (retries
exhausted, a 4xx, malformed JSON) costs only the assets it was for: they get nothing from that
source, their cursors stay where they were (the next run asks again from the same point), and
the run ends with :class:`IncompleteLoadError` (the CLI's exit status 1) AFTER the good assets
are written (docs/kpis.md#market-metrics). A failure while writing rolls everything back.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .coingecko import CoinGeckoSource
from .coinmarketcap import CoinMarketCapSource
from .http_client import ExternalPriceError
from .observations import FetchFailure, PriceObservation, RejectedRecord
from .store import RAW_SCHEMA, PriceConflict, PriceStore

log = logging.getLogger(__name__)

SOURCES = ("coingecko", "coinmarketcap")
# Assets priced when neither the caller nor the warehouse (raw.trading_pairs) names any.
DEFAULT_ASSETS = ("BTC", "ETH", "SOL", "BNB", "XRP", "ADA", "DOGE")


class PriceSource(Protocol):
    name: str

    def fetch(
        self, assets: Iterable[str], cursors: dict[str, dt.datetime], now: dt.datetime
    ) -> tuple[list[PriceObservation], list[RejectedRecord], list[FetchFailure]]: ...

    def close(self) -> None: ...


@dataclass
class SourceResult:
    source: str
    fetched: int = 0
    inserted: int = 0
    already_loaded: int = 0
    quarantined: int = 0  # records newly quarantined (one already there is not counted)
    rejected: int = 0  # bad records in the responses, quarantined now or before


@dataclass
class ExternalPriceLoadResult:
    load_id: str
    assets: list[str]
    sources: dict[str, SourceResult] = field(default_factory=dict)
    failures: list[FetchFailure] = field(default_factory=list)
    conflicts: list[PriceConflict] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.failures

    @property
    def inserted(self) -> int:
        return sum(s.inserted for s in self.sources.values())

    @property
    def quarantined(self) -> int:
        return sum(s.quarantined for s in self.sources.values())

    def summary(self) -> str:
        lines = [f"external prices load {self.load_id} ({', '.join(self.assets)}):"]
        for s in self.sources.values():
            lines.append(
                f"  {s.source}: {s.fetched} new observations fetched, {s.inserted} rows loaded, "
                f"{s.already_loaded} already loaded, {s.quarantined} records quarantined "
                f"({s.rejected} bad records in the responses)"
            )
        lines += [f"  conflict: {c.describe()}" for c in self.conflicts]
        lines += [f"  FAILED: {f.describe()}" for f in self.failures]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "load_id": self.load_id,
            "assets": self.assets,
            "sources": {k: vars(v) for k, v in self.sources.items()},
            "conflicts": [c.describe() for c in self.conflicts],
            "failures": [f.describe() for f in self.failures],
        }


class IncompleteLoadError(ExternalPriceError):
    """Some requests failed: what was good IS written (``result``), the failed assets are not
    and keep their cursors. ``str()`` names every failure."""

    def __init__(self, result: ExternalPriceLoadResult):
        self.result = result
        super().__init__(
            "external prices load incomplete; the other assets were loaded: "
            + "; ".join(f.describe() for f in result.failures)
        )


def build_source(name: str, **options) -> PriceSource:
    if name == "coingecko":
        return CoinGeckoSource(**options)
    if name == "coinmarketcap":
        return CoinMarketCapSource(**options)
    raise ValueError(f"unknown source {name!r}; expected one of {', '.join(SOURCES)}")


def assets_in_warehouse(con: Any, schema: str = RAW_SCHEMA) -> list[str]:
    """Base assets of the exchange's pairs, as loaded in raw.trading_pairs (none if absent)."""
    store = PriceStore(con, schema)
    try:
        rows = store._execute(
            f"SELECT DISTINCT base_asset FROM {store.schema}.trading_pairs "
            "WHERE base_asset IS NOT NULL"
        )
    except Exception:  # noqa: BLE001 - no such table yet: the caller falls back to defaults
        if store.dialect.name == "postgres":
            con.rollback()
        return []
    return sorted(r[0] for r in rows)


def load_with_connection(
    con: Any,
    sources: Sequence[PriceSource],
    assets: Sequence[str] | None = None,
    load_id: str | None = None,
    now: dt.datetime | None = None,
    schema: str = RAW_SCHEMA,
) -> ExternalPriceLoadResult:
    """One run on an open DuckDB or psycopg2 connection (the caller holds any lock)."""
    from ingestion.loaders.files import new_load_id

    store = PriceStore(con, schema)
    store.ensure_tables()
    assets = sorted(set(assets or assets_in_warehouse(con, schema) or DEFAULT_ASSETS))
    load_id = load_id or new_load_id()
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    result = ExternalPriceLoadResult(load_id, list(assets))
    observations: list[PriceObservation] = []
    rejects: list[RejectedRecord] = []
    for source in sources:
        cursors = store.cursors(source.name, assets)
        try:
            got, bad, failed = source.fetch(assets, cursors, now)
        except ExternalPriceError as e:  # the source's one request failed: all its assets
            log.error("%s: failed: %s", source.name, e)
            got, bad, failed = [], [], [FetchFailure(source.name, tuple(assets), str(e))]
        log.info("%s: %d new observations, %d records rejected", source.name, len(got), len(bad))
        result.sources[source.name] = SourceResult(source.name, fetched=len(got), rejected=len(bad))
        result.failures += failed
        observations += got
        rejects += bad
    written = store.write(load_id, observations, rejects)
    for name, (inserted, already_loaded) in written.counts.items():
        result.sources[name].inserted = inserted
        result.sources[name].already_loaded = already_loaded
    for name, quarantined in written.quarantined.items():
        result.sources[name].quarantined = quarantined
    result.conflicts = written.conflicts
    for conflict in written.conflicts:
        log.warning("duplicate with a different price: %s", conflict.describe())
    log.info("loaded %d rows into %s (load %s)", result.inserted, store.prices, load_id)
    return result


def load_external_prices(
    warehouse: Path | str,
    sources: Sequence[str | PriceSource] = SOURCES,
    assets: Sequence[str] | None = None,
    source_options: dict[str, dict[str, Any]] | None = None,
    lock_timeout: float | None = None,
    now: dt.datetime | None = None,
) -> ExternalPriceLoadResult:
    """Fetch new prices from the APIs into the DuckDB warehouse ``warehouse``.

    ``sources``: names (``coingecko``, ``coinmarketcap``) or ready source objects;
    ``source_options``: keyword arguments per source name (``base_url``, ``api_key``,
    ``policy``, ...); ``assets``: symbols to price (default: the base assets of
    ``raw.trading_pairs``, else :data:`DEFAULT_ASSETS`). Holds the file loader's lock.
    Raises :class:`IncompleteLoadError` (its ``result`` says what loaded) when a request failed.
    """
    from warehouse import Limits, open_warehouse
    from warehouse.raw_schema import ensure_bookkeeping

    source_options = source_options or {}
    built = [
        s if not isinstance(s, str) else build_source(s, **source_options.get(s, {}))
        for s in sources
    ]
    limits = Limits.from_env(lock_timeout=lock_timeout)
    try:
        with open_warehouse(warehouse, limits=limits) as con:
            ensure_bookkeeping(con)
            result = load_with_connection(con, built, assets, now=now)
    finally:
        for source in built:
            with contextlib.suppress(Exception):
                source.close()
    if result.failures:
        raise IncompleteLoadError(result)
    return result
