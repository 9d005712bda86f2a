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
before it writes anything. The retries are tenacity's (one :class:`_Budget` per request keeps
the two counts); delays go through ``sleep`` (injectable), so tests run fast.
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
import tenacity

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


class _Retryable(Exception):
    """An answer worth another attempt: a 5xx, a timeout, a transport error, or a 429."""

    def __init__(self, reason: str, rate_limit_wait: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.rate_limit_wait = rate_limit_wait  # a 429: seconds its Retry-After asks for


@dataclass
class _Budget:
    """What one request may still spend: attempts against failures, and waits on 429s.

    tenacity calls ``count`` after each failed attempt, then ``wait`` and ``stop``."""

    policy: RetryPolicy
    url: str
    failures: int = 0
    rate_limit_waits: int = 0

    @staticmethod
    def _error(state: tenacity.RetryCallState) -> _Retryable:
        return state.outcome.exception()

    def count(self, state: tenacity.RetryCallState) -> None:
        if self._error(state).rate_limit_wait is None:
            self.failures += 1
        else:
            self.rate_limit_waits += 1

    def wait(self, state: tenacity.RetryCallState) -> float:
        error = self._error(state)
        if error.rate_limit_wait is not None:
            return error.rate_limit_wait
        return self.policy.backoff_delay(self.failures)

    def stop(self, state: tenacity.RetryCallState) -> bool:
        if self._error(state).rate_limit_wait is not None:
            return self.rate_limit_waits > self.policy.max_rate_limit_waits
        return self.failures >= self.policy.max_attempts

    def log(self, state: tenacity.RetryCallState) -> None:
        error = self._error(state)
        if error.rate_limit_wait is None:
            log.warning(
                "GET %s: %s; retry %d in %.3gs",
                self.url,
                error.reason,
                self.failures,
                state.upcoming_sleep,
            )
        else:
            log.warning("GET %s: %s; waiting %.3gs", self.url, error.reason, state.upcoming_sleep)

    def give_up(self, state: tenacity.RetryCallState) -> Any:
        error = self._error(state)
        if error.rate_limit_wait is not None:
            raise RequestFailedError(
                f"GET {self.url}: still rate-limited (429) after "
                f"{self.policy.max_rate_limit_waits} waits; try again later"
            )
        raise RequestFailedError(
            f"GET {self.url}: gave up after {self.failures} attempts; last: {error.reason}"
        )


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
        budget = _Budget(self.policy, url)
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Retryable),
            after=budget.count,
            wait=budget.wait,
            stop=budget.stop,
            before_sleep=budget.log,
            retry_error_callback=budget.give_up,
            sleep=self.sleep,
        )
        return retrying(self._get_once, url, path, params)

    def _get_once(self, url: str, path: str, params: Mapping[str, Any] | None) -> Any:
        """One attempt: the decoded JSON, or :class:`_Retryable`, or a final error."""
        try:
            response = self._client.get(path, params=params)
        except (httpx.TimeoutException, httpx.TransportError) as e:
            raise _Retryable(f"{type(e).__name__}: {e or 'no detail'}") from None
        status = response.status_code
        if status == 429:
            header = response.headers.get("Retry-After")
            wait = parse_retry_after(header)
            if wait is None:
                wait = self.policy.default_retry_after
            wait = min(wait, self.policy.max_retry_after)
            raise _Retryable(f"rate-limited (429, Retry-After {header!r})", rate_limit_wait=wait)
        if status >= 500:
            raise _Retryable(f"HTTP {status}: {_excerpt(response.text)}")
        if status >= 400:
            raise RequestFailedError(
                f"GET {url}: HTTP {status} (not retried): {_excerpt(response.text)}"
            )
        return self._decode(url, response)

    @staticmethod
    def _decode(url: str, response: httpx.Response) -> Any:
        try:
            return json.loads(response.text, parse_float=Decimal)
        except ValueError as e:
            raise MalformedResponseError(
                f"GET {url}: the response is not valid JSON ({e}); body starts: "
                f"{_excerpt(response.text)!r}"
            ) from None
