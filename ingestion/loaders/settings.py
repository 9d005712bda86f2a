"""The resources of a load: the warehouse's session limits, and how many tables load at once."""

from __future__ import annotations

from dataclasses import dataclass

from warehouse.connection import Limits
from warehouse.settings import Settings

# One file of each of two tables at once keeps both cores busy: one file alone does not.
DEFAULT_WORKERS = 2


@dataclass(frozen=True)
class LoaderSettings(Limits):
    """:class:`warehouse.Limits` plus ``workers``: tables loaded at once (each through its own
    connection); 1 = one table after another. ``from_env`` reads ``EXCHANGE_LOADER_WORKERS``."""

    workers: int = DEFAULT_WORKERS

    @classmethod
    def _from_settings(cls, current: Settings) -> dict:
        return {"workers": current.loader_workers}
