"""External price feeds: CoinGecko and CoinMarketCap over HTTP -> ``raw.external_prices``.

By default the simulator's ``external_prices`` landing files stand in for these APIs (the file
loader lands them in the same table); this package is what a deployment with network access
runs instead, or beside them. Rows have the same columns and provenance as the file loader's
(``_source_file`` is the request URL), are never written twice (key: source, asset,
observed_at), and a cursor per source and asset (``raw._external_price_cursors``) makes each
run fetch only what is new.

Python API::

    from ingestion.external_prices import load_external_prices
    result = load_external_prices("data/warehouse.duckdb", sources=["coingecko"], assets=["BTC"])

CLI: ``python -m ingestion.external_prices --warehouse data/warehouse.duckdb``.

Settings from the environment: ``COINGECKO_API_KEY`` (Pro API, header ``x-cg-pro-api-key``),
``COINMARKETCAP_API_KEY`` (header ``X-CMC_PRO_API_KEY``, required by CoinMarketCap),
``COINGECKO_BASE_URL`` / ``COINMARKETCAP_BASE_URL`` (another host, e.g. a local test server).

Modules: http_client.py (GET JSON with retries, backoff, 429 handling), coingecko.py and
coinmarketcap.py (the endpoints and their response shapes), observations.py (rows and
rejects), store.py (tables, cursors, the one-transaction write), loader.py (a run), cli.py.
"""

from .coingecko import CoinGeckoSource
from .coinmarketcap import CoinMarketCapSource
from .http_client import (
    ConfigurationError,
    ExternalPriceError,
    JsonHttpClient,
    MalformedResponseError,
    RequestFailedError,
    RetryPolicy,
)
from .loader import (
    ExternalPriceLoadResult,
    IncompleteLoadError,
    load_external_prices,
    load_with_connection,
)
from .observations import FetchFailure, PriceObservation, RejectedRecord
from .store import CURSORS, PRICES, PriceConflict, PriceStore, keep_latest_delivery

__all__ = [
    "CURSORS",
    "PRICES",
    "CoinGeckoSource",
    "CoinMarketCapSource",
    "ConfigurationError",
    "ExternalPriceError",
    "ExternalPriceLoadResult",
    "FetchFailure",
    "IncompleteLoadError",
    "JsonHttpClient",
    "MalformedResponseError",
    "PriceConflict",
    "PriceObservation",
    "PriceStore",
    "RejectedRecord",
    "RequestFailedError",
    "RetryPolicy",
    "keep_latest_delivery",
    "load_external_prices",
    "load_with_connection",
]
