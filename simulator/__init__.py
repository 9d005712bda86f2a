"""Deterministic exchange simulator: writes a landing directory (docs/landing_contract.md).

    from simulator import simulate
    manifest = simulate("data/landing", scale="small", seed=42)

or `python -m simulator --scale small --out data/landing`. See README.md.
"""

from .config import SCALES
from .engine import Simulator, simulate

__all__ = ["SCALES", "Simulator", "simulate"]
