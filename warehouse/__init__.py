"""The warehouse: its settings, and the one way to open it.

    from warehouse import open_warehouse, settings
    with open_warehouse(read_only=True) as con:   # $EXCHANGE_WAREHOUSE, configured
        ...
    settings.current().landing_dir                # every EXCHANGE_* variable, typed

settings.py (every ``EXCHANGE_*`` variable), connection.py (opening DuckDB: the lock, session
settings, resource limits), locking.py (one writer at a time), raw_schema.py (the ``raw``
schema's bookkeeping tables). This package imports nothing else of the project.
"""

from . import settings
from .connection import Limits, WarehouseMissingError, open_scratch, open_warehouse
from .locking import WarehouseLock, WarehouseLockedError
from .settings import DEFAULT_LANDING, DEFAULT_WAREHOUSE, Settings, SettingsError

__all__ = [
    "DEFAULT_LANDING",
    "DEFAULT_WAREHOUSE",
    "Limits",
    "Settings",
    "SettingsError",
    "WarehouseLock",
    "WarehouseLockedError",
    "WarehouseMissingError",
    "open_scratch",
    "open_warehouse",
    "settings",
]
