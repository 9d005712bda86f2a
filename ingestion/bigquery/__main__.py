"""python -m ingestion.bigquery --landing DIR [--tables a,b] [--dataset raw]: see loader.py."""

from __future__ import annotations

import argparse
import sys

from warehouse import settings

from .loader import BigQueryLoadError, bigquery_client, load_landing_bigquery


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingestion.bigquery", description=__doc__)
    parser.add_argument("--landing", default=str(settings.current().landing_dir))
    parser.add_argument("--tables", help="comma-separated tables (default: every contract table)")
    parser.add_argument("--dataset", default="raw")
    args = parser.parse_args(argv)
    client = bigquery_client()
    try:
        reports = load_landing_bigquery(client, args.landing, args.tables, dataset=args.dataset)
    except BigQueryLoadError as exc:
        reports, failed = exc.reports, str(exc)
    else:
        failed = None
    for r in reports:
        print(
            f"{r.table}: {len(r.files_sent)} files, {r.rows_loaded} rows loaded, "
            f"{r.rows_quarantined} quarantined, {r.files_skipped} files skipped"
            + (f", FAILED at {r.failed_file}: {r.error}" if r.error else "")
        )
    if failed:
        print(failed, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
