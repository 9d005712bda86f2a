"""What a price API yields: observations (rows for ``raw.external_prices``) and rejects.

A record whose shape is right but whose values are not (no price, a price <= 0, a time that
is not one) becomes a :class:`RejectedRecord`: it lands in ``raw._quarantine`` like a bad
row of a landing file, and the rest of the response loads. A response whose overall shape is
wrong raises :class:`~.http_client.MalformedResponseError` instead (nothing is loaded).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

# raw.external_prices.price_usd is DECIMAL(20,8): 12 digits before the point, 8 after.
PRICE_QUANTUM = Decimal("0.00000001")
PRICE_LIMIT = Decimal("1e12")


@dataclass(frozen=True)
class PriceObservation:
    """One row of raw.external_prices, with its provenance (URL and 1-based record number)."""

    source: str
    asset: str
    price_usd: Decimal
    observed_at: dt.datetime  # UTC, without zone
    source_url: str
    row_number: int

    @property
    def key(self) -> tuple[str, str, dt.datetime]:
        return (self.source, self.asset, self.observed_at)


@dataclass(frozen=True)
class RejectedRecord:
    """A record of a response that cannot be a row: why, and its original values."""

    source: str
    source_url: str
    row_number: int
    reason: str
    record: Any = field(default=None)


@dataclass(frozen=True)
class FetchFailure:
    """A request that failed after its retries (or answered the wrong shape): the assets it
    was for get nothing from this source in this run, keep their cursors, and are reported.
    The other assets load (docs/kpis.md#market-metrics: one bad response never holds back the good
    ones)."""

    source: str
    assets: tuple[str, ...]
    error: str

    def describe(self) -> str:
        return f"{self.source} {','.join(self.assets) or '(all assets)'}: {self.error}"


class InvalidValue(ValueError):
    """A value of a record is not usable; the message says which and why."""


def check_price(value: Any) -> Decimal:
    """A positive price that fits DECIMAL(20,8), as a Decimal rounded to 8 places."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise InvalidValue(f"price_usd: not a number, got {value!r}")
    try:
        price = Decimal(str(value))
    except InvalidOperation:
        raise InvalidValue(f"price_usd: not a number, got {value!r}") from None
    if not price.is_finite():
        raise InvalidValue(f"price_usd: not a finite number, got {value!r}")
    if price <= 0:
        raise InvalidValue(f"price_usd: must be positive, got {value!r}")
    if price >= PRICE_LIMIT:
        raise InvalidValue(f"price_usd: too large for decimal(20,8), got {value!r}")
    rounded = price.quantize(PRICE_QUANTUM)
    if rounded <= 0:
        raise InvalidValue(f"price_usd: rounds to 0 at 8 decimal places, got {value!r}")
    return rounded


def from_unix_milliseconds(value: Any) -> dt.datetime:
    """A UTC time (without zone) from epoch milliseconds, exactly (no float rounding)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise InvalidValue(f"observed_at: not epoch milliseconds, got {value!r}")
    try:
        milliseconds = Decimal(str(value))
        return dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=float(milliseconds))
    except (InvalidOperation, OverflowError, ValueError):
        raise InvalidValue(f"observed_at: not epoch milliseconds, got {value!r}") from None


def from_unix_seconds(value: Any) -> dt.datetime:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise InvalidValue(f"observed_at: not epoch seconds, got {value!r}")
    return from_unix_milliseconds(Decimal(str(value)) * 1000)


def from_iso8601(value: Any) -> dt.datetime:
    """A UTC time (without zone) from ISO-8601 text; a trailing Z or an offset is converted."""
    if not isinstance(value, str):
        raise InvalidValue(f"observed_at: not an ISO-8601 time, got {value!r}")
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidValue(f"observed_at: not an ISO-8601 time, got {value!r}") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed
