"""Command line: python -m simulator --scale small --out data/landing"""

from __future__ import annotations

import argparse
import datetime as dt

from .config import DEFAULT_END_DATE, SCALES


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m simulator",
        description="Write a deterministic simulated crypto-exchange landing directory.",
    )
    p.add_argument(
        "--scale",
        choices=list(SCALES),
        default="small",
        help="tiny (tests), small (default), medium, large",
    )
    p.add_argument("--out", default="data/landing", help="landing directory (default data/landing)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument(
        "--end-date",
        type=dt.date.fromisoformat,
        default=DEFAULT_END_DATE,
        help=f"last simulated day, YYYY-MM-DD (default {DEFAULT_END_DATE})",
    )
    p.add_argument(
        "--until",
        type=dt.date.fromisoformat,
        default=None,
        help="stop after this day: writes a prefix of the same run (for incremental loads)",
    )
    p.add_argument(
        "--no-faults", action="store_true", help="no malformed rows, replays or late files"
    )
    p.add_argument(
        "--overwrite", action="store_true", help="delete the table folders in --out first"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from .engine import simulate

    manifest = simulate(
        args.out,
        scale=args.scale,
        seed=args.seed,
        end_date=args.end_date,
        faults=not args.no_faults,
        quiet=args.quiet,
        until=args.until,
        overwrite=args.overwrite,
    )
    if not args.quiet:
        counts = manifest["row_counts"]
        width = max(map(len, counts))
        print(
            f"{args.out}: scale {manifest['scale']}, {manifest['start_date']} .. "
            f"{manifest['last_day_written']}, {manifest['elapsed_seconds']} s"
        )
        for table, n in counts.items():
            print(f"  {table:<{width}} {n:>12,}")
        print(f"  planted cases: {manifest['planted_cases']} rows in _simulator/planted_cases.csv")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
