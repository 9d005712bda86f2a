"""Landing loaders: landing files (CSV, JSON lines, Parquet) -> typed ``raw`` tables in DuckDB.

Python API::

    from ingestion.loaders import load_landing, load_table
    report = load_landing("data/landing", "data/warehouse.duckdb", tables=["trades"])
    table_report = load_table("data/warehouse.duckdb", "data/landing", "trades")

CLI: ``python -m ingestion.loaders --landing data/landing --warehouse data/warehouse.duckdb``.
How it works: files.py (the loader), readers.py (reading files), validation.py (typing and
checking SQL), raw_schema.py (raw tables), settings.py (a load's resources). Opening and locking the
warehouse is the ``warehouse`` package's.
"""

from warehouse import WarehouseLockedError

from .files import RawTableDamagedError, discover_files, load_landing, load_table, new_load_id
from .report import FileResult, LoadReport, TableReport
from .settings import LoaderSettings

__all__ = [
    "FileResult",
    "LoadReport",
    "LoaderSettings",
    "RawTableDamagedError",
    "TableReport",
    "WarehouseLockedError",
    "discover_files",
    "load_landing",
    "load_table",
    "new_load_id",
]
