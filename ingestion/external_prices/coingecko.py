"""CoinGecko: the latest price (simple/price) and recent history (coins/{id}/market_chart).

Endpoints (as documented by CoinGecko, API v3):

* ``GET /api/v3/simple/price?ids=bitcoin,ethereum&vs_currencies=usd&include_last_updated_at=true``
  -> ``{"bitcoin": {"usd": 67187.34, "last_updated_at": 1711356300}, ...}``
* ``GET /api/v3/coins/{id}/market_chart?vs_currency=usd&days=N``
  -> ``{"prices": [[1711324800000, 67001.2], ...], "market_caps": [...], "total_volumes": [...]}``
  (5-minute points for 1 day, hourly for 2 to 90 days, daily beyond).

Keys: the public API needs none; with ``COINGECKO_API_KEY`` set the loader calls the Pro host
(``https://pro-api.coingecko.com``) with the ``x-cg-pro-api-key`` header. ``COINGECKO_BASE_URL``
overrides the host (tests point it at a local server).

Incremental: per asset, market_chart asks for as many days as have passed since the cursor
(at least 1, at most ``max_history_days``; ``initial_history_days`` without a cursor), and only
points after the cursor are kept.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterable, Mapping
from typing import Any

from warehouse import settings

from .http_client import ExternalPriceError, JsonHttpClient, MalformedResponseError, RetryPolicy
from .observations import (
    FetchFailure,
    InvalidValue,
    PriceObservation,
    RejectedRecord,
    check_price,
    from_unix_milliseconds,
    from_unix_seconds,
)

log = logging.getLogger(__name__)

SOURCE = "coingecko"
PUBLIC_BASE_URL = "https://api.coingecko.com"
PRO_BASE_URL = "https://pro-api.coingecko.com"
API_KEY_HEADER = "x-cg-pro-api-key"

# Exchange symbols -> CoinGecko coin ids (extend with the ``coin_ids`` argument).
COIN_IDS: dict[str, str] = {
    "BTC": "bitcoin",
    "ETH": "ethereum",
    "BNB": "binancecoin",
    "SOL": "solana",
    "XRP": "ripple",
    "ADA": "cardano",
    "DOGE": "dogecoin",
    "AVAX": "avalanche-2",
    "DOT": "polkadot",
    "MATIC": "matic-network",
    "POL": "polygon-ecosystem-token",
    "LINK": "chainlink",
    "LTC": "litecoin",
    "TRX": "tron",
    "ATOM": "cosmos",
    "UNI": "uniswap",
    "SHIB": "shiba-inu",
    "USDT": "tether",
    "USDC": "usd-coin",
    "DAI": "dai",
    "BUSD": "binance-usd",
    "FDUSD": "first-digital-usd",
    "TUSD": "true-usd",
}


class CoinGeckoSource:
    name = SOURCE

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        coin_ids: Mapping[str, str] | None = None,
        policy: RetryPolicy | None = None,
        initial_history_days: int = 7,
        max_history_days: int = 90,
        sleep=None,
    ):
        current = settings.current()
        api_key = api_key if api_key is not None else current.coingecko_api_key
        default_base = PRO_BASE_URL if api_key else PUBLIC_BASE_URL
        self.base_url = base_url or current.coingecko_base_url or default_base
        self.coin_ids = {**COIN_IDS, **(coin_ids or {})}
        self.initial_history_days = initial_history_days
        self.max_history_days = max_history_days
        headers = {API_KEY_HEADER: api_key} if api_key else {}
        extra = {"sleep": sleep} if sleep else {}
        self.client = JsonHttpClient(self.base_url, headers, policy, **extra)

    def close(self) -> None:
        self.client.close()

    def fetch(
        self,
        assets: Iterable[str],
        cursors: Mapping[str, dt.datetime],
        now: dt.datetime,
    ) -> tuple[list[PriceObservation], list[RejectedRecord], list[FetchFailure]]:
        """Everything newer than each asset's cursor: history, then the latest price.

        An asset whose history request fails is reported (a :class:`FetchFailure`) and left
        out of the latest-price request too, so its cursor stays where it was and the next run
        asks for the same history again; the other assets load. A failed latest-price request
        is reported for the assets it was for; their history still loads.
        """
        known = [a for a in assets if a in self.coin_ids]
        for asset in sorted(set(assets) - set(known)):
            log.warning("coingecko: no coin id for asset %s; skipped (pass coin_ids)", asset)
        observations: list[PriceObservation] = []
        rejects: list[RejectedRecord] = []
        failures: list[FetchFailure] = []
        fetched: list[str] = []
        for asset in known:
            days = self._days_to_fetch(cursors.get(asset), now)
            try:
                got, bad = self._market_chart(asset, days)
            except ExternalPriceError as e:
                log.error("coingecko: %s history failed: %s", asset, e)
                failures.append(FetchFailure(SOURCE, (asset,), str(e)))
                continue
            fetched.append(asset)
            observations += got
            rejects += bad
        if fetched:
            try:
                got, bad = self._simple_price(fetched)
            except ExternalPriceError as e:
                log.error("coingecko: latest prices failed: %s", e)
                failures.append(FetchFailure(SOURCE, tuple(fetched), str(e)))
            else:
                observations += got
                rejects += bad
        new = [
            o
            for o in observations
            if cursors.get(o.asset) is None or o.observed_at > cursors[o.asset]
        ]
        return new, rejects, failures

    def _days_to_fetch(self, cursor: dt.datetime | None, now: dt.datetime) -> int:
        if cursor is None:
            return self.initial_history_days
        elapsed_days = (now - cursor).total_seconds() / 86400
        return max(1, min(self.max_history_days, math.ceil(elapsed_days)))

    def _market_chart(
        self, asset: str, days: int
    ) -> tuple[list[PriceObservation], list[RejectedRecord]]:
        path = f"/api/v3/coins/{self.coin_ids[asset]}/market_chart"
        params = {"vs_currency": "usd", "days": days}
        url = self.client.url_for(path, params)
        body = self.client.get_json(path, params)
        if not isinstance(body, dict) or not isinstance(body.get("prices"), list):
            raise MalformedResponseError(
                f"GET {url}: expected an object with a 'prices' list, got {_shape(body)}"
            )
        observations, rejects = [], []
        for row_number, point in enumerate(body["prices"], start=1):
            try:
                if not isinstance(point, list) or len(point) != 2:
                    raise InvalidValue(f"expected [milliseconds, price], got {point!r}")
                observed_at = from_unix_milliseconds(point[0])
                price = check_price(point[1])
            except InvalidValue as e:
                rejects.append(RejectedRecord(SOURCE, url, row_number, f"{asset}: {e}", point))
                continue
            observations.append(
                PriceObservation(SOURCE, asset, price, observed_at, url, row_number)
            )
        return observations, rejects

    def _simple_price(
        self, assets: list[str]
    ) -> tuple[list[PriceObservation], list[RejectedRecord]]:
        path = "/api/v3/simple/price"
        ids = [self.coin_ids[a] for a in assets]
        params = {"ids": ",".join(ids), "vs_currencies": "usd", "include_last_updated_at": "true"}
        url = self.client.url_for(path, params)
        body = self.client.get_json(path, params)
        if not isinstance(body, dict):
            raise MalformedResponseError(
                f"GET {url}: expected an object keyed by coin id, got {_shape(body)}"
            )
        observations, rejects = [], []
        for row_number, (asset, coin_id) in enumerate(zip(assets, ids, strict=True), start=1):
            if coin_id not in body:
                log.warning("coingecko: simple/price has no entry for %s (%s)", asset, coin_id)
                continue
            entry = body[coin_id]
            try:
                if not isinstance(entry, dict):
                    raise InvalidValue(f"expected an object, got {entry!r}")
                price = check_price(entry.get("usd"))
                observed_at = from_unix_seconds(entry.get("last_updated_at"))
            except InvalidValue as e:
                rejects.append(
                    RejectedRecord(SOURCE, url, row_number, f"{asset}: {e}", {coin_id: entry})
                )
                continue
            observations.append(
                PriceObservation(SOURCE, asset, price, observed_at, url, row_number)
            )
        return observations, rejects


def _shape(body: Any) -> str:
    if isinstance(body, dict):
        return "an object with keys " + ", ".join(sorted(map(str, body))[:10])
    return type(body).__name__
