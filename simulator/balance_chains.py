"""Balance-chain arithmetic on sorted flow arrays (vectorised, int64 units of 1e-8)."""

from __future__ import annotations

import numpy as np

_BIG = np.int64(1 << 38)  # > one day in microseconds plus any tie offset


def segments(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(segment id per row, start index per segment) of a sorted key array."""
    n = sorted_keys.size
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    flags = np.empty(n, dtype=bool)
    flags[0] = True
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=flags[1:])
    starts = np.flatnonzero(flags)
    seg = np.cumsum(flags) - 1
    return seg, starts


def running(
    opening: np.ndarray, moves: np.ndarray, seg: np.ndarray, starts: np.ndarray
) -> np.ndarray:
    """Balance after each row: opening balance of its segment plus the moves so far."""
    cs = np.cumsum(moves)
    before_segment = cs[starts] - moves[starts]
    return opening[seg] + cs - before_segment[seg]


def strictly_increasing(
    t: np.ndarray, seg: np.ndarray, starts: np.ndarray, origin: int
) -> np.ndarray:
    """Times made strictly increasing within each segment by pushing ties forward by 1 µs.

    `t` is sorted within segments and every value lies in [origin, origin + 1 day)."""
    n = t.size
    if n == 0:
        return t
    idx = np.arange(n, dtype=np.int64) - starts[seg]
    offset = np.int64(n + 1)
    val = seg.astype(np.int64) * _BIG + (t - origin - idx + offset)
    runmax = np.maximum.accumulate(val) - seg.astype(np.int64) * _BIG
    return origin + runmax - offset + idx
