"""Run a loader command that pauses at its checkpoints, for the crash-safety tests.

    python -m tests.python.pausing_loader --pause 0.3 --at checked,inserted \\
        ingestion.loaders --landing ... --warehouse ...

Replaces `ingestion.loaders.files.at_checkpoint` (a no-op in production) with a pause that
prints ``<file>: pausing <s>s at <point>`` to stderr and sleeps, then runs the named module's
command line in this process, so a test can SIGKILL the load at a known point. The pause lives
here, in the tests: production code reads no test setting.
"""

from __future__ import annotations

import argparse
import runpy
import sys
import time

from ingestion.loaders import files


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.python.pausing_loader")
    parser.add_argument("--pause", type=float, required=True, help="seconds at each point")
    parser.add_argument(
        "--at",
        default="before_commit",
        help=f"comma-separated checkpoints, of {', '.join(files.LOAD_CHECKPOINTS)}",
    )
    parser.add_argument("module", help="the command's module, e.g. ingestion.loaders")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the command's arguments")
    args = parser.parse_args(argv)
    points = set(args.at.split(","))
    unknown = points - set(files.LOAD_CHECKPOINTS)
    if unknown:
        parser.error(f"unknown checkpoint(s) {sorted(unknown)}; use {files.LOAD_CHECKPOINTS}")

    def pause(point: str, source_file: str) -> None:
        if point in points:
            print(f"{source_file}: pausing {args.pause}s at {point}", file=sys.stderr, flush=True)
            time.sleep(args.pause)

    files.at_checkpoint = pause
    sys.argv = [args.module, *args.args]
    runpy.run_module(args.module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
