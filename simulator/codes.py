"""Coded values the simulator works with: enum names, flow kinds, and per-pair arrays.

The engine keeps categories as small integers and pairs as array positions; these tables turn
them into the landing contract's strings and decimal units when a file is written.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from .config import (
    ASSETS,
    COUNTRY_CODES,
    NICE_UNIT,
    TIER_PAIR_FOCUS,
    TIER_RATE_E4,
    TRADED_PAIRS,
    WITHDRAWAL_FEE,
    A,
)

# Churn announced by behaviour (Engine.churn_decline, README.md "Churn"): over the last
# CHURN_DECLINE_DAYS days before a break the chance to trade falls to CHURN_DECLINE_FLOOR of
# its usual value, and a declining user opens a support ticket with this chance per day.
CHURN_DECLINE_DAYS = 14
CHURN_DECLINE_FLOOR = 0.2
CHURN_DECLINE_TICKET_RATE = 0.06


# Flow kinds, in the order they sort at equal times within one wallet.
K_DEPOSIT, K_TRADE, K_FEE, K_WITHDRAWAL, K_WITHDRAWAL_FEE = 0, 1, 2, 3, 4
TX_TYPE_NAMES = ("deposit", "withdrawal", "trade", "fee")
TX_TYPE_CODE = np.array([0, 2, 3, 1, 3], dtype=np.int32)  # kind -> index in TX_TYPE_NAMES
ST_COMPLETED, ST_FAILED, ST_PENDING = 0, 1, 2
TX_STATUS = ("completed", "failed", "pending")
# Share of the fee rows that keep the time of the trade leg just before them in their wallet's
# chain (a tie, as exchange ledgers book a leg and its fee in one instant), and the share of those
# ties whose fee gets the lower transaction id: chain order is never id order
# (docs/reliability.md, "Financial integrity").
TIED_FEE_SHARE = 0.1
TIED_FEE_ID_FIRST_SHARE = 0.5
ORDER_TYPES = ("market", "limit", "stop_loss")
SIDES = ("buy", "sell")
ORDER_STATUS = ("pending", "partial", "filled", "cancelled")
OS_PENDING, OS_PARTIAL, OS_FILLED, OS_CANCELLED = 0, 1, 2, 3
USER_STATUS = ("active", "suspended", "closed")
KYC_STATUS = ("pending", "approved", "rejected")
KYC_NOTES = (
    "Standard due diligence complete",
    "PEP and sanctions screening clear",
    "Address proof resubmitted",
    "Document mismatch",
    "Selfie liveness check failed",
    "Enhanced due diligence: high-risk jurisdiction",
)
LOGIN_TYPES = ("login_success", "login_failed", "password_change", "2fa_enabled", "2fa_disabled")
SECURITY_EVENT_TYPES = ("login_failed", "suspicious_activity", "large_withdrawal")
SEVERITIES = ("low", "medium", "high", "critical")
ALERT_TYPES = ("large_transaction", "unusual_pattern", "high_risk_country")
DISPOSITIONS = ("no_action", "reported", "account_flagged")
TICKET_STATUS = ("open", "pending", "solved", "closed")
METRIC_TYPES = ("api_response_time", "database_connections", "order_processing_time")
SOURCES = ("coingecko", "coinmarketcap")

C_IR, C_KP, C_VN = (COUNTRY_CODES.index(c) for c in ("IR", "KP", "VN"))
PUBLIC_OCTETS = np.array(
    [o for o in range(1, 224) if o not in (10, 100, 127, 169, 172, 192, 198, 203)], dtype=np.int64
)
IP_SQL = (
    "CASE WHEN {k} = 0 THEN printf('%d.%d.%d.%d', ({v} >> 24) & 255, ({v} >> 16) & 255, "
    "({v} >> 8) & 255, {v} & 255) ELSE printf('2a02:%x:%x:%x::%x', ({v} >> 48) & 65535, "
    "({v} >> 32) & 65535, ({v} >> 16) & 65535, ({v} & 65535) + 1) END"
)

N_PAIRS = len(TRADED_PAIRS)
PAIR_ID = np.array([p.pair_id for p in TRADED_PAIRS], dtype=np.int64)
PAIR_BASE = np.array([A[p.base] for p in TRADED_PAIRS], dtype=np.int64)
PAIR_QUOTE = np.array([A[p.quote] for p in TRADED_PAIRS], dtype=np.int64)
PAIR_PRICE_DECIMALS = np.array([p.price_dec for p in TRADED_PAIRS], dtype=np.int64)
PAIR_QTY_DECIMALS = np.array([p.qty_dec for p in TRADED_PAIRS], dtype=np.int64)
PAIR_MAKER_RATE_E4 = np.array([p.maker_rate_e4 for p in TRADED_PAIRS], dtype=np.int64)
PAIR_WEIGHT = np.array([p.weight for p in TRADED_PAIRS], dtype=np.float64)
PAIR_WEIGHT = PAIR_WEIGHT / PAIR_WEIGHT.sum()
# per tier (row tier - 1): cumulative pair weights, PAIR_WEIGHT ** TIER_PAIR_FOCUS normalised
TIER_PAIR_CDF = np.cumsum(PAIR_WEIGHT[None, :] ** np.array(TIER_PAIR_FOCUS)[:, None], axis=1)
TIER_PAIR_CDF /= TIER_PAIR_CDF[:, -1:]


def draw_pairs(rng, tier: np.ndarray) -> np.ndarray:
    """A traded pair (index) per entry of `tier` (1..3): whales trade the majors most."""
    u = rng.random(tier.size)
    return np.minimum((u[:, None] > TIER_PAIR_CDF[tier - 1]).sum(axis=1), N_PAIRS - 1)


PAIR_NOTIONAL_SCALE = (10 ** (8 - PAIR_PRICE_DECIMALS - PAIR_QTY_DECIMALS)).astype(
    np.int64
)  # qty_int*price_int -> 1e-8 units
PAIR_QTY_UNIT = (10 ** (8 - PAIR_QTY_DECIMALS)).astype(np.int64)
PAIR_PRICE_UNIT = (10 ** (8 - PAIR_PRICE_DECIMALS)).astype(np.int64)
NICE_UNITS = np.array([NICE_UNIT[a] for a in ASSETS], dtype=np.int64)
WITHDRAWAL_FEE_UNITS = np.array([WITHDRAWAL_FEE[a] for a in ASSETS], dtype=np.int64)
TIER_TAKER_RATE_E4 = np.array(
    [0, TIER_RATE_E4[1], TIER_RATE_E4[2], TIER_RATE_E4[3]], dtype=np.int64
)


# One flow (a future transactions row) per array position; narrow types keep a large day small.
FLOW_DTYPES = {
    "user": np.int64,
    "asset": np.int8,
    "t": np.int64,
    "kind": np.int8,
    "amt": np.int64,
    "status": np.int8,
    "ref": np.int64,
    "ref_entity": np.int8,
    "tie": np.int64,
    "partner": np.int32,
    "tag": np.int32,
}


def typed_flows(flows: dict) -> dict:
    return {k: np.asarray(flows[k], dtype=t) for k, t in FLOW_DTYPES.items()}


def iso_date(d: dt.date) -> str:
    return d.isoformat()


def round_half_up_div(num: np.ndarray, den: int) -> np.ndarray:
    return (num + den // 2) // den
