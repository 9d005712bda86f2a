"""``python -m ingestion.external_prices``: fetch new prices from the APIs into the warehouse.

Exit status: 0 when the run wrote what was new (possibly nothing), 1 when a request failed or
answered malformed JSON (the other assets and sources WERE written; the failed ones keep their
cursors: run again later), 2 on bad arguments, 3 when the warehouse is held by another load or
program past ``--lock-timeout``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from warehouse import DEFAULT_WAREHOUSE, WarehouseLockedError, settings

from .http_client import ExternalPriceError, RetryPolicy
from .loader import SOURCES, IncompleteLoadError, load_external_prices

EXIT_ERROR, EXIT_LOCKED = 1, 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ingestion.external_prices",
        description="Load new prices from CoinGecko and CoinMarketCap into raw.external_prices "
        "(incremental by a cursor per source and asset; never a row twice).",
    )
    parser.add_argument(
        "--warehouse",
        default=None,
        help=f"DuckDB file (default: $EXCHANGE_WAREHOUSE or {DEFAULT_WAREHOUSE})",
    )
    parser.add_argument(
        "--sources",
        default=",".join(SOURCES),
        help=f"comma-separated sources (default: {','.join(SOURCES)})",
    )
    parser.add_argument(
        "--assets",
        default=None,
        help="comma-separated symbols (default: base assets of raw.trading_pairs)",
    )
    parser.add_argument(
        "--history-days",
        type=int,
        default=7,
        help="CoinGecko history fetched for an asset without a cursor (default 7)",
    )
    parser.add_argument(
        "--coinmarketcap-mode",
        choices=["quotes", "listings"],
        default="quotes",
        help="quotes/latest by symbol, or paginated listings/latest",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument(
        "--max-attempts",
        type=int,
        default=5,
        help="attempts per request against 5xx answers and timeouts",
    )
    parser.add_argument(
        "--lock-timeout",
        type=float,
        default=None,
        help="seconds to wait for another load (default: $EXCHANGE_LOADER_LOCK_TIMEOUT or 300)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    sources = [s.strip() for s in args.sources.split(",") if s.strip()]
    unknown = sorted(set(sources) - set(SOURCES))
    if unknown:
        parser.error(f"unknown sources: {', '.join(unknown)} (expected {', '.join(SOURCES)})")
    assets = (
        [a.strip().upper() for a in args.assets.split(",") if a.strip()] if args.assets else None
    )
    policy = RetryPolicy(timeout=args.timeout, max_attempts=args.max_attempts)
    options = {
        "coingecko": {"policy": policy, "initial_history_days": args.history_days},
        "coinmarketcap": {"policy": policy, "mode": args.coinmarketcap_mode},
    }
    warehouse = args.warehouse or settings.current().warehouse
    try:
        result = load_external_prices(
            warehouse, sources, assets, options, lock_timeout=args.lock_timeout
        )
    except WarehouseLockedError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_LOCKED
    except IncompleteLoadError as e:
        print(json.dumps(e.result.to_dict(), indent=2) if args.json else e.result.summary())
        print(
            f"error: {e}\nThe failed assets were not loaded and keep their cursors; "
            "everything else was loaded.",
            file=sys.stderr,
        )
        return EXIT_ERROR
    except ExternalPriceError as e:
        print(f"error: {e}\nNothing was loaded; the cursors are unchanged.", file=sys.stderr)
        return EXIT_ERROR
    print(json.dumps(result.to_dict(), indent=2) if args.json else result.summary())
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
