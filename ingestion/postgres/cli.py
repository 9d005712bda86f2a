"""``python -m ingestion.postgres``: populate-oltp, extract, publish-raw.

Examples::

    python -m ingestion.postgres populate-oltp --landing data/landing \\
        --dsn postgresql://postgres@127.0.0.1:5432/test --schema exchange_oltp
    python -m ingestion.postgres extract --dsn postgresql://postgres@127.0.0.1:5432/test \\
        --warehouse data/warehouse.duckdb
    python -m ingestion.postgres publish-raw --warehouse data/warehouse.duckdb \\
        --dsn postgresql://postgres@127.0.0.1:5432/test

Exit status: 0 done, 1 error, 2 bad arguments, 3 the warehouse is held by another load.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from ingestion.loaders import LoaderSettings
from warehouse import DEFAULT_WAREHOUSE, WarehouseLockedError
from warehouse import settings as warehouse_settings

from .connection import DSN_ENV, default_dsn, redact
from .loader.extractor import DEFAULT_BATCH_SIZE, extract
from .oltp_schema import DEFAULT_SCHEMA
from .serving.publish import RAW_SCHEMA, publish_raw
from .source.populate import populate_oltp

EXIT_ERROR, EXIT_LOCKED = 1, 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ingestion.postgres",
        description="The exchange's PostgreSQL database as a source, and PostgreSQL as a dbt "
        "target: populate an OLTP schema from landing files, extract it incrementally into the "
        "DuckDB warehouse, publish the warehouse's raw schema to PostgreSQL.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--dsn",
        default=None,
        help=f"libpq connection string or URI (default: ${DSN_ENV} or {default_dsn()}); "
        "the password comes from PGPASSWORD or ~/.pgpass",
    )
    common.add_argument("--tables", default=None, help="comma-separated tables (default: all)")
    common.add_argument("--json", action="store_true", help="print the report as JSON")
    common.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")
    warehouse = argparse.ArgumentParser(add_help=False)
    warehouse.add_argument(
        "--warehouse",
        default=None,
        help=f"DuckDB file (default: $EXCHANGE_WAREHOUSE or {DEFAULT_WAREHOUSE})",
    )
    warehouse.add_argument(
        "--lock-timeout",
        type=float,
        default=None,
        help="seconds to wait for another load of the warehouse (default 300)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    populate = sub.add_parser(
        "populate-oltp",
        parents=[common],
        help="load a landing directory into the OLTP schema (latest version per key, upserts)",
    )
    populate.add_argument("--landing", required=True, help="landing directory")
    populate.add_argument(
        "--schema", default=DEFAULT_SCHEMA, help="OLTP schema (default %(default)s)"
    )
    populate.add_argument(
        "--work-dir",
        default=None,
        help="keep the scratch DuckDB file here between runs (default: a temporary directory)",
    )

    ext = sub.add_parser(
        "extract",
        parents=[common, warehouse],
        help="extract new and changed rows into the warehouse's raw tables (cursor per table)",
    )
    ext.add_argument("--schema", default=DEFAULT_SCHEMA, help="source schema (default %(default)s)")
    ext.add_argument(
        "--staging",
        default=None,
        help="folder for batch files (default: <warehouse dir>/pg_extract)",
    )
    ext.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        help="rows per batch file (default %(default)s)",
    )
    ext.add_argument(
        "--retries", type=int, default=3, help="reconnects after a dropped connection (default 3)"
    )
    ext.add_argument(
        "--reset", action="store_true", help="forget the cursors first: extract everything again"
    )

    pub = sub.add_parser(
        "publish-raw",
        parents=[common, warehouse],
        help="copy the warehouse's raw schema into PostgreSQL (incremental by load id)",
    )
    pub.add_argument("--schema", default=RAW_SCHEMA, help="target schema (default %(default)s)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    dsn = args.dsn or default_dsn()
    tables = args.tables
    try:
        if args.command == "populate-oltp":
            report = populate_oltp(args.landing, dsn, args.schema, tables, work_dir=args.work_dir)
        else:
            settings = LoaderSettings.from_env(lock_timeout=args.lock_timeout)
            wh = args.warehouse or str(warehouse_settings.current().warehouse)
            if args.command == "extract":
                report = extract(
                    dsn,
                    wh,
                    args.schema,
                    tables,
                    staging_dir=args.staging,
                    batch_size=args.batch_size,
                    retries=args.retries,
                    reset=args.reset,
                    settings=settings,
                )
            else:
                report = publish_raw(wh, dsn, args.schema, tables, settings=settings)
    except WarehouseLockedError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_LOCKED
    except Exception as e:  # noqa: BLE001 - the CLI reports every failure the same way
        logging.getLogger("ingestion.postgres").debug("failed", exc_info=True)
        message = str(e).strip() or type(e).__name__
        print(f"error ({args.command}, {redact(dsn)}): {message}", file=sys.stderr)
        if args.command == "extract":
            print(
                "Batches committed before the error are kept and the cursors moved only for "
                "them: run the same command again to resume.",
                file=sys.stderr,
            )
        return EXIT_ERROR
    print(json.dumps(report.to_dict(), indent=2, default=str) if args.json else report.summary())
    return 0
