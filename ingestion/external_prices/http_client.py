"""GET JSON from a price API, with retries, exponential backoff and rate-limit handling.

* A 5xx answer, a timeout or a transport error (connection refused, reset) is retried up to
  ``RetryPolicy.max_attempts`` attempts in all, waiting ``backoff_base * 2 ** (n - 1)`` seconds
  (capped at ``backoff_max``) before retry ``n``.
* A 429 waits what its ``Retry-After`` header says (seconds or an HTTP date; capped at
  ``max_retry_after``; ``default_retry_after`` without the header) and tries again, up to
  ``max_rate_limit_waits`` times. These waits do not use up the 5xx attempts.
* Any other 4xx fails at once (a wrong key or a bad request does not get better by retrying).
* A body that is not JSON fails at once with :class:`MalformedResponseError`.

Every failure is an :class:`ExternalPriceError` naming the URL, so a caller can stop the run
before it writes anything. Delays go through ``sleep`` (injectable), so tests run fast.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

log = logging.getLogger(__name__)

BODY_EXCERPT_CHARS = 200


class ExternalPriceError(RuntimeError):
    """A price API could not be read; nothing of the run was written."""


class RequestFailedError(ExternalPriceError):
    """The API kept failing (5xx, timeouts, 429s) or refused the request (4xx)."""


class MalformedResponseError(ExternalPriceError):
    """The API answered, but not with the JSON shape expected."""


class ConfigurationError(ExternalPriceError):
    """The loader is not set up to call this API (e.g. a required API key is missing)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. The defaults suit the real APIs; tests shrink every delay."""

    max_attempts: int = 5  # attempts in all, against 5xx answers, timeouts and transport errors
    backoff_base: float = 1.0  # seconds before the first retry; doubles each retry
    backoff_max: float = 60.0
    max_rate_limit_waits: int = 5  # 429 answers honoured before giving up
    default_retry_after: float = 60.0  # a 429 without Retry-After waits this long
    max_retry_after: float = 300.0  # never wait longer than this on one 429
    timeout: float = 30.0  # seconds per request (connect, read, write, pool)

    def backoff_delay(self, retry_number: int) -> float:
        return min(self.backoff_max, self.backoff_base * 2 ** (retry_number - 1))


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - now).total_seconds())


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= BODY_EXCERPT_CHARS else text[:BODY_EXCERPT_CHARS] + "..."


class JsonHttpClient:
    """A GET-only JSON client for one API (one base URL and its auth headers)."""

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str] | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.policy = policy or RetryPolicy()
        self.sleep = sleep
        self._client = httpx.Client(
            base_url=self.base_url,
            headers={"Accept": "application/json", **(headers or {})},
            timeout=httpx.Timeout(self.policy.timeout),
            transport=transport,
            follow_redirects=True,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> JsonHttpClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def url_for(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        """The full URL of a request (what provenance records); no credential is in it."""
        return str(self._client.build_request("GET", path, params=params).url)

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET ``path`` and return the decoded JSON (numbers with a fraction as ``Decimal``)."""
        url = self.url_for(path, params)
        failures = 0
        rate_limit_waits = 0
        while True:
            try:
                response = self._client.get(path, params=params)
            except (httpx.TimeoutException, httpx.TransportError) as e:
                failures += 1
                reason = f"{type(e).__name__}: {e or 'no detail'}"
                self._retry_or_raise(url, failures, reason)
                continue
            status = response.status_code
            if status == 429:
                rate_limit_waits += 1
                if rate_limit_waits > self.policy.max_rate_limit_waits:
                    raise RequestFailedError(
                        f"GET {url}: still rate-limited (429) after "
                        f"{self.policy.max_rate_limit_waits} waits; try again later"
                    )
                header = response.headers.get("Retry-After")
                wait = parse_retry_after(header)
                if wait is None:
                    wait = self.policy.default_retry_after
                wait = min(wait, self.policy.max_retry_after)
                log.warning(
                    "GET %s: rate-limited (429, Retry-After %r); waiting %.3gs", url, header, wait
                )
                self.sleep(wait)
                continue
            if status >= 500:
                failures += 1
                self._retry_or_raise(url, failures, f"HTTP {status}: {_excerpt(response.text)}")
                continue
            if status >= 400:
                raise RequestFailedError(
                    f"GET {url}: HTTP {status} (not retried): {_excerpt(response.text)}"
                )
            return self._decode(url, response)

    def _retry_or_raise(self, url: str, failures: int, reason: str) -> None:
        if failures >= self.policy.max_attempts:
            raise RequestFailedError(
                f"GET {url}: gave up after {failures} attempts; last: {reason}"
            )
        delay = self.policy.backoff_delay(failures)
        log.warning("GET %s: %s; retry %d in %.3gs", url, reason, failures, delay)
        self.sleep(delay)

    @staticmethod
    def _decode(url: str, response: httpx.Response) -> Any:
        try:
            return json.loads(response.text, parse_float=Decimal)
        except ValueError as e:
            raise MalformedResponseError(
                f"GET {url}: the response is not valid JSON ({e}); body starts: "
                f"{_excerpt(response.text)!r}"
            ) from None
