"""Deterministic UUID-shaped ids from integer counters.

An id is `CCCCCCCC-CCCC-8EEE-VHHH-HHHHHHHHHHHH`: the first 12 hex digits are the counter (so ids
of one entity sort in counter order, which the simulator makes time order for trades and
transactions), `8` marks a custom (RFC 9562 version 8) UUID, `EEE` is the entity code, and the
rest is a 62-bit hash of (counter, entity, seed). The same function runs vectorised (numpy,
formatted into an Arrow string array) and in plain Python (for the ids in planted_cases.csv).
"""

from __future__ import annotations

import numpy as np

_M64 = (1 << 64) - 1
_C1, _C2, _C3 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, vectorised over uint64 (wrapping arithmetic)."""
    z = np.asarray(x, dtype=np.uint64) + np.uint64(_C1)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_C2)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_C3)
    return z ^ (z >> np.uint64(31))


def _mix64_int(x: int) -> int:
    z = (x + _C1) & _M64
    z = ((z ^ (z >> 30)) * _C2) & _M64
    z = ((z ^ (z >> 27)) * _C3) & _M64
    return z ^ (z >> 31)


def salt(seed: int) -> int:
    return _mix64_int(seed * 7919 + 17) & ((1 << 63) - 1)


def id_hash(counter: np.ndarray, entity: int | np.ndarray, seed_salt: int) -> np.ndarray:
    """62-bit non-negative hash (int64) of counters for the id's random-looking tail."""
    c = np.asarray(counter, dtype=np.int64).astype(np.uint64)
    e = np.asarray(entity, dtype=np.int64).astype(np.uint64)
    h = mix64((c << np.uint64(12)) ^ e ^ np.uint64(seed_salt))
    return (h >> np.uint64(2)).astype(np.int64)


def uuid_str(counter: int, entity: int, seed_salt: int) -> str:
    """The same id in plain Python."""
    h = _mix64_int((((counter << 12) & _M64) ^ entity ^ seed_salt) & _M64) >> 2
    return (
        f"{(counter >> 16) & 0xFFFFFFFF:08x}-{counter & 0xFFFF:04x}-"
        f"{0x8000 + (entity & 0xFFF):04x}-{0x8000 + ((h >> 48) & 0x3FFF):04x}-"
        f"{h & 0xFFFFFFFFFFFF:012x}"
    )


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
# byte -> its two hex digits, packed so that viewed as bytes the high digit comes first
_HEX2 = (
    _HEX[np.arange(256) >> 4].astype(np.uint16) | (_HEX[np.arange(256) & 15].astype(np.uint16) << 8)
).astype("<u2")


def uuid_array(counter: np.ndarray, entity, seed_salt: int):
    """The ids as a pyarrow string array, formatted in numpy (no per-row Python, no printf):
    32 hex digits from two 64-bit words, dashes at fixed places. Counter < 0 gives NULL."""
    import pyarrow as pa

    counter = np.asarray(counter, dtype=np.int64)
    n = counter.size
    valid = counter >= 0
    c = np.where(valid, counter, 0).astype(np.uint64)
    e = np.asarray(entity, dtype=np.int64).astype(np.uint64) & np.uint64(0xFFF)
    h = id_hash(np.where(valid, counter, 0), entity, seed_salt).astype(np.uint64)
    hi = (
        (((c >> np.uint64(16)) & np.uint64(0xFFFFFFFF)) << np.uint64(32))
        | ((c & np.uint64(0xFFFF)) << np.uint64(16))
        | (np.uint64(0x8000) | e)
    )
    lo = ((np.uint64(0x8000) | ((h >> np.uint64(48)) & np.uint64(0x3FFF))) << np.uint64(48)) | (
        h & np.uint64(0xFFFFFFFFFFFF)
    )
    words = np.empty((n, 2), dtype=">u8")
    words[:, 0] = hi
    words[:, 1] = lo
    digits = _HEX2[words.view(np.uint8)].view(np.uint8)  # (n, 32) hex digits, in order
    out = np.empty((n, 36), dtype=np.uint8)
    out[:, [8, 13, 18, 23]] = ord("-")
    out[:, 0:8] = digits[:, 0:8]
    out[:, 9:13] = digits[:, 8:12]
    out[:, 14:18] = digits[:, 12:16]
    out[:, 19:23] = digits[:, 16:20]
    out[:, 24:36] = digits[:, 20:32]
    offsets = np.arange(0, 36 * (n + 1), 36, dtype=np.int32 if 36 * n < 2**31 else np.int64)
    bitmap = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    typ = pa.string() if offsets.dtype == np.int32 else pa.large_string()
    return pa.Array.from_buffers(
        typ,
        n,
        [bitmap, pa.py_buffer(offsets), pa.py_buffer(out.reshape(-1))],
        null_count=int(n - valid.sum()),
    )
