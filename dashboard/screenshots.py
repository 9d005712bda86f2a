"""One PNG per dashboard page, taken with Debian's headless chromium: the README's pictures.

    python -m dashboard.screenshots [--warehouse data/warehouse.duckdb] [--out docs/images]

Serves the dashboard on a free port against the warehouse (read-only), loads every page,
and writes ``<out>/dashboard_<page>.png``, reduced to a 256-colour palette so each file
stays small enough to commit. `make screenshots` runs it on $(EXCHANGE_WAREHOUSE).
"""

from __future__ import annotations

import argparse
import sys
import time
from io import BytesIO
from pathlib import Path

from dashboard.browser import missing_browser, open_page, serve
from dashboard.queries import warehouse_path
from dashboard.sitemap import PAGES


def compress(png: bytes, out: Path, colors: int = 256) -> int:
    """Write `png` as a palette PNG (a dashboard has few colours); its size in bytes."""
    from PIL import Image

    image = Image.open(BytesIO(png)).convert("RGB")
    image.quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        out, optimize=True
    )
    return out.stat().st_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--warehouse", type=Path, default=None, help="DuckDB file (default: $EXCHANGE_WAREHOUSE)"
    )
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    parser.add_argument("--width", type=int, default=1440)
    parser.add_argument("--height", type=int, default=1500)
    parser.add_argument(
        "--pages",
        nargs="*",
        default=[p.url_path for p in PAGES],
        help="URL paths of the pages to take (default: all)",
    )
    args = parser.parse_args(argv)

    warehouse = args.warehouse or warehouse_path()
    if not warehouse.exists():
        parser.error(f"no warehouse at {warehouse}: run `make pipeline` first")
    reason = missing_browser()
    if reason:
        parser.error(reason)
    args.out.mkdir(parents=True, exist_ok=True)

    from dashboard.browser import chromium

    wanted = [p for p in PAGES if p.url_path in args.pages]
    with serve(warehouse) as server, chromium(args.width, args.height) as driver:
        for spec in wanted:
            page = open_page(driver, server.url(spec.url_path), spec.title)
            if page.exceptions or page.errors:
                print(
                    f"{spec.url_path}: the page shows an error, no screenshot:\n"
                    f"{page.exceptions + page.errors}",
                    file=sys.stderr,
                )
                return 1
            time.sleep(1.5)  # charts draw after the script run ends
            out = args.out / f"dashboard_{spec.url_path}.png"
            size = compress(driver.get_screenshot_as_png(), out)
            print(f"{out}  {size / 1024:.0f} KB  ({spec.title})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
