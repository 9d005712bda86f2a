"""Files generated from the code (docs pages, source YAML): written when stale, or, with
``--check`` (the tests and CI), reported as stale without writing. One implementation for
every generator in scripts/."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path


def sync_files(rendered: dict[Path, str], check: bool, script: str) -> int:
    """Write each stale file (or, with ``check``, list them and return 1)."""
    stale = [path for path, text in rendered.items() if _current(path) != text]
    if check:
        if stale:
            names = ", ".join(str(p) for p in stale)
            print(f"stale (run {script}): {names}", file=sys.stderr)
            return 1
        return 0
    for path in stale:
        path.write_text(rendered[path])
        print(f"wrote {path}")
    return 0


def page_main(
    argv: list[str] | None, description: str, output: Path, render: Callable[[], str], script: str
) -> int:
    """The command line of a generator of one page: ``[--check] [--output PATH]``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is stale")
    parser.add_argument("--output", type=Path, default=output)
    args = parser.parse_args(argv)
    return sync_files({args.output: render()}, args.check, script)


def _current(path: Path) -> str | None:
    return path.read_text() if path.exists() else None
