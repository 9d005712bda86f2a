"""Where the warehouse and the landing directory live, shared by every entry point."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_WAREHOUSE = Path("data/warehouse.duckdb")
DEFAULT_LANDING = Path("data/landing")


def warehouse_path() -> Path:
    return Path(os.environ.get("EXCHANGE_WAREHOUSE", DEFAULT_WAREHOUSE))


def landing_dir() -> Path:
    return Path(os.environ.get("EXCHANGE_LANDING_DIR", DEFAULT_LANDING))
