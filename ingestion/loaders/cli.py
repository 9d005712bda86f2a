"""``python -m ingestion.loaders`` (``exchange-load``): load landing files into the warehouse.

Exit status: 0 when the load ran (rows may have been quarantined and files rejected: see the
summary and ``raw._quarantine`` / ``raw._loaded_files``), 1 on an error, 2 on bad arguments,
3 when the warehouse is held by another load or program past ``--lock-timeout``.
With ``--strict``, quarantined rows, rejected files, unknown table folders or files of an
unsupported type or place (docs/landing_contract.md#folders-and-files) also give exit status 4.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

import duckdb

from warehouse import DEFAULT_LANDING, DEFAULT_WAREHOUSE, WarehouseLockedError

from .files import RawTableDamagedError, load_landing, resolve_tables
from .settings import LoaderSettings

EXIT_ERROR, EXIT_LOCKED, EXIT_BAD_INPUT = 1, 3, 4


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ingestion.loaders",
        description="Load new landing files (csv, csv.gz, parquet, jsonl, jsonl.gz) into the "
        "raw schema of the DuckDB warehouse: typed, checked, incremental, idempotent.",
    )
    parser.add_argument(
        "--landing",
        default=None,
        help=f"landing directory (default: $EXCHANGE_LANDING_DIR or {DEFAULT_LANDING})",
    )
    parser.add_argument(
        "--warehouse",
        default=None,
        help=f"DuckDB file (default: $EXCHANGE_WAREHOUSE or {DEFAULT_WAREHOUSE})",
    )
    parser.add_argument("--tables", default=None, help="comma-separated tables (default: all)")
    parser.add_argument(
        "--lock-timeout",
        type=float,
        default=None,
        help="seconds to wait for another load to finish (default: "
        "$EXCHANGE_LOADER_LOCK_TIMEOUT or 300; 0 = do not wait)",
    )
    parser.add_argument(
        "--memory-limit",
        default=None,
        help="DuckDB memory_limit, bigger loads spill to disk "
        "(default: $EXCHANGE_DUCKDB_MEMORY_LIMIT or 3GB)",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="DuckDB threads (default: all cores)"
    )
    parser.add_argument("--json", action="store_true", help="print the load report as JSON")
    parser.add_argument(
        "--strict",
        action="store_true",
        help=f"exit with status {EXIT_BAD_INPUT} when rows were quarantined, files rejected, or "
        "folders or files ignored (unknown table folder, unsupported file type)",
    )
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument(
        "-q", "--quiet", action="store_true", help="log warnings and errors only"
    )
    verbosity.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING if args.quiet else logging.DEBUG if args.verbose else logging.INFO
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    try:
        tables = resolve_tables(args.tables)
    except ValueError as e:
        parser.error(str(e))
    settings = LoaderSettings.from_env(
        memory_limit=args.memory_limit, threads=args.threads, lock_timeout=args.lock_timeout
    )
    try:
        report = load_landing(args.landing, args.warehouse, tables, settings=settings)
    except WarehouseLockedError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_LOCKED
    except (FileNotFoundError, ValueError, RawTableDamagedError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except (OSError, duckdb.IOException) as e:  # disk full, no permission, I/O error
        print(
            f"error: the load stopped: {type(e).__name__}: {e}\n"
            "Files committed before the error stay loaded; the file being loaded was rolled "
            "back as a whole. Fix the cause and run the same command again to load the rest.",
            file=sys.stderr,
        )
        return EXIT_ERROR
    if report.is_empty:
        # on stderr as well, so a --json or piped run still shows it
        print(report.empty_warning(), file=sys.stderr)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.summary())
    if args.strict and (report.rows_quarantined or report.files_rejected or report.files_ignored):
        return EXIT_BAD_INPUT
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
