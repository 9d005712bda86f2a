"""Login addresses that follow real patterns, so rule shared_ip is judged on realistic data
(docs: models/marts/compliance/_compliance__docs.md, "What one IP address means").

Every user has a home address, drawn from the user's hash (no draw from the simulation's random
streams, so the rest of the data does not move when these patterns change):

* mobile users (about 35%): one host of a carrier /24 of their country, up to
  ``HOSTS_PER_CARRIER_NETWORK`` users per network, each on its own host: many users per /24,
  none sharing an address (a rule that judged the /24 would flag them all);
* households (about 10%): two users behind one home router share one address (two users never
  make a shared_ip group);
* IPv6 users (``kind`` 1, drawn by the engine): their own /64; every login picks a new
  interface identifier inside it (temporary addresses), so one user's /128 changes from login
  to login while the /64 stays;
* everyone else: an address of their own.

Travel logins (random public addresses) are drawn by the engine. The true shared-device rings
are planted cases (planted.py: one IPv4 address, one IPv6 /64).
"""

from __future__ import annotations

import numpy as np

from .ids import mix64

HOSTS_PER_CARRIER_NETWORK = 250
MOBILE_SHARE_PCT = 35
HOUSEHOLD_SHARE_PCT = 10
# First octets of the carrier networks (public ranges); a carrier network is FIRST.x.y.0/24.
CARRIER_FIRST_OCTETS = np.array([37, 46, 89, 176], dtype=np.int64)
INTERFACE_MASK = 0xFFFF  # the part of an IPv6 value the engine writes as the interface identifier


def home_addresses(
    user_hash: np.ndarray, kind: np.ndarray, country: np.ndarray, own_v4: np.ndarray
) -> np.ndarray:
    """Each user's home address value (IPv4 as a 32-bit int; IPv6 as the engine's 62-bit value)."""
    n = user_hash.size
    bucket = (user_hash >> np.uint64(40)).astype(np.int64) % 100
    v4 = own_v4.astype(np.int64).copy()

    mobile = np.flatnonzero((kind == 0) & (bucket < MOBILE_SHARE_PCT))
    if mobile.size:
        # rank within the country, in user order: network k of a country holds ranks
        # [k * HOSTS, (k + 1) * HOSTS)
        order = mobile[np.lexsort((mobile, country[mobile]))]
        ctry = country[order]
        starts = np.r_[0, np.flatnonzero(np.diff(ctry)) + 1]
        rank = np.arange(order.size) - np.repeat(starts, np.diff(np.r_[starts, order.size]))
        # one sequential id per (country, network of that country)
        _, network = np.unique(
            ctry * (1 << 32) + rank // HOSTS_PER_CARRIER_NETWORK, return_inverse=True
        )
        first = CARRIER_FIRST_OCTETS[network % len(CARRIER_FIRST_OCTETS)]
        middle = (network // len(CARRIER_FIRST_OCTETS)) & 0xFFFF
        v4[order] = (first << 24) | (middle << 8) | (rank % HOSTS_PER_CARRIER_NETWORK + 2)

    household = np.flatnonzero(
        (kind == 0)
        & (bucket >= MOBILE_SHARE_PCT)
        & (bucket < MOBILE_SHARE_PCT + HOUSEHOLD_SHARE_PCT)
    )
    pairs = household.size // 2 * 2
    if pairs:
        first, second = household[0:pairs:2], household[1:pairs:2]
        v4[second] = v4[first]

    v6 = (user_hash >> np.uint64(2)).astype(np.int64) & ~np.int64(INTERFACE_MASK)
    return np.where(kind == 1, v6, v4) if n else v4


def rotate_interface(values: np.ndarray, kind: np.ndarray, salt: np.ndarray) -> np.ndarray:
    """IPv6 logins get a new interface identifier in the user's /64 (``salt``: per login)."""
    interface = (mix64(salt.astype(np.uint64)) % np.uint64(INTERFACE_MASK)).astype(np.int64)
    return np.where(kind == 1, (values & ~np.int64(INTERFACE_MASK)) | interface, values)
