"""CoinMarketCap: latest quotes by symbol, or the paginated listings.

Endpoints (as documented by CoinMarketCap, API v1):

* ``GET /v1/cryptocurrency/quotes/latest?symbol=BTC,ETH&convert=USD``
  -> ``{"status": {"error_code": 0, ...}, "data": {"BTC": {"symbol": "BTC", "quote":
  {"USD": {"price": 67187.3, "last_updated": "2024-03-25T08:45:00.000Z"}}}, ...}}``
* ``GET /v1/cryptocurrency/listings/latest?start=1&limit=100&convert=USD``
  -> ``{"status": {"total_count": 9000, ...}, "data": [{"symbol": "BTC", "quote": {...}}, ...]}``:
  pages of ``limit`` coins from rank ``start``; the loader walks pages until it has every
  asset asked for, a page comes back short, or ``max_pages``.

Every request carries the ``X-CMC_PRO_API_KEY`` header from ``COINMARKETCAP_API_KEY``; the real
host refuses requests without it, so the loader does too (a clear error before any request).
``COINMARKETCAP_BASE_URL`` overrides the host (tests point it at a local server). The API has
no history on the basic plans: each run records the latest quote, kept when it is newer than
the cursor.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from warehouse import settings

from .http_client import ConfigurationError, JsonHttpClient, MalformedResponseError, RetryPolicy
from .observations import (
    FetchFailure,
    InvalidValue,
    PriceObservation,
    RejectedRecord,
    check_price,
    from_iso8601,
)

log = logging.getLogger(__name__)

SOURCE = "coinmarketcap"
DEFAULT_BASE_URL = "https://pro-api.coinmarketcap.com"
API_KEY_HEADER = "X-CMC_PRO_API_KEY"
QUOTES = "quotes"
LISTINGS = "listings"


class CoinMarketCapSource:
    name = SOURCE

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        policy: RetryPolicy | None = None,
        mode: str = QUOTES,
        page_size: int = 200,
        max_pages: int = 50,
        sleep=None,
    ):
        if mode not in (QUOTES, LISTINGS):
            raise ValueError(f"mode must be {QUOTES!r} or {LISTINGS!r}, got {mode!r}")
        current = settings.current()
        api_key = api_key if api_key is not None else current.coinmarketcap_api_key
        self.base_url = base_url or current.coinmarketcap_base_url or DEFAULT_BASE_URL
        if not api_key and self.base_url.rstrip("/") == DEFAULT_BASE_URL:
            raise ConfigurationError(
                "COINMARKETCAP_API_KEY is not set: CoinMarketCap refuses requests without a key "
                "(set it, or leave coinmarketcap out of --sources)"
            )
        self.mode = mode
        self.page_size = page_size
        self.max_pages = max_pages
        headers = {API_KEY_HEADER: api_key} if api_key else {}
        extra = {"sleep": sleep} if sleep else {}
        self.client = JsonHttpClient(self.base_url, headers, policy, **extra)

    def close(self) -> None:
        self.client.close()

    def fetch(
        self,
        assets: Iterable[str],
        cursors: Mapping[str, dt.datetime],
        now: dt.datetime,  # noqa: ARG002 - the API only has the latest quote
    ) -> tuple[list[PriceObservation], list[RejectedRecord], list[FetchFailure]]:
        """One request for every asset (quotes), or pages of listings: a failure is the whole
        source's, and the loader reports it for every asset (the other sources still load)."""
        assets = sorted(set(assets))
        if not assets:
            return [], [], []
        if self.mode == QUOTES:
            observations, rejects = self._quotes(assets)
        else:
            observations, rejects = self._listings(assets)
        new = [
            o
            for o in observations
            if cursors.get(o.asset) is None or o.observed_at > cursors[o.asset]
        ]
        return new, rejects, []

    def _quotes(self, assets: list[str]) -> tuple[list[PriceObservation], list[RejectedRecord]]:
        path = "/v1/cryptocurrency/quotes/latest"
        params = {"symbol": ",".join(assets), "convert": "USD"}
        url = self.client.url_for(path, params)
        body = self.client.get_json(path, params)
        data = _data(body, url, dict)
        observations, rejects = [], []
        for row_number, asset in enumerate(assets, start=1):
            if asset not in data:
                log.warning("coinmarketcap: quotes/latest has no entry for %s", asset)
                continue
            _parse_entry(asset, data[asset], url, row_number, observations, rejects)
        return observations, rejects

    def _listings(self, assets: list[str]) -> tuple[list[PriceObservation], list[RejectedRecord]]:
        path = "/v1/cryptocurrency/listings/latest"
        wanted = set(assets)
        observations: list[PriceObservation] = []
        rejects: list[RejectedRecord] = []
        start = 1
        for _page in range(self.max_pages):
            params = {"start": start, "limit": self.page_size, "convert": "USD"}
            url = self.client.url_for(path, params)
            body = self.client.get_json(path, params)
            page = _data(body, url, list)
            for row_number, entry in enumerate(page, start=1):
                asset = entry.get("symbol") if isinstance(entry, dict) else None
                if asset in wanted:
                    wanted.discard(asset)
                    _parse_entry(asset, entry, url, row_number, observations, rejects)
            total = (
                body.get("status", {}).get("total_count")
                if isinstance(body.get("status"), dict)
                else None
            )
            start += self.page_size
            if (
                not wanted
                or len(page) < self.page_size
                or (isinstance(total, int) and start > total)
            ):
                break
        else:
            log.warning("coinmarketcap: stopped after %d pages of listings", self.max_pages)
        for asset in sorted(wanted):
            log.warning("coinmarketcap: listings have no entry for %s", asset)
        return observations, rejects


def _data(body: Any, url: str, kind: type) -> Any:
    if not isinstance(body, dict):
        raise MalformedResponseError(
            f"GET {url}: expected a JSON object, got {type(body).__name__}"
        )
    status = body.get("status")
    if isinstance(status, dict) and status.get("error_code") not in (None, 0, "0"):
        raise MalformedResponseError(
            f"GET {url}: API error {status.get('error_code')}: {status.get('error_message')}"
        )
    data = body.get("data")
    if not isinstance(data, kind):
        raise MalformedResponseError(
            f"GET {url}: expected 'data' to be a JSON {'object' if kind is dict else 'array'}, "
            f"got {type(data).__name__}"
        )
    return data


def _parse_entry(asset, entry, url, row_number, observations, rejects) -> None:
    try:
        if not isinstance(entry, dict):
            raise InvalidValue(f"expected an object, got {entry!r}")
        quote = (
            (entry.get("quote") or {}).get("USD") if isinstance(entry.get("quote"), dict) else None
        )
        if not isinstance(quote, dict):
            raise InvalidValue("quote.USD: missing")
        price = check_price(quote.get("price"))
        observed_at = from_iso8601(quote.get("last_updated"))
    except InvalidValue as e:
        rejects.append(RejectedRecord(SOURCE, url, row_number, f"{asset}: {e}", entry))
        return
    observations.append(PriceObservation(SOURCE, asset, price, observed_at, url, row_number))
