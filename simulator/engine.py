"""The exchange simulator: a deterministic, vectorised, day-by-day model of a crypto exchange.

`simulate()` sets up users, prices and the planted cases, writes the reference tables and the
pre-window history, then generates and writes one day at a time (bounded memory): logins,
orders and fills, the balance chain of every wallet, fees, candles, order books, external
prices, support, security and compliance events, and system metrics. See README.md.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from pathlib import Path

import numpy as np

from ingestion.contract import TABLES

from . import addresses, ledger
from .campaigns import CampaignPlan
from .config import (
    ASSETS,
    BASE_ASSETS,
    COUNTRIES,
    COUNTRY_CODES,
    DAY,
    DEFAULT_END_DATE,
    EMAIL_DOMAINS,
    ENTITY,
    FIRST_NAMES,
    FORMATS,
    HOUR,
    HOUR_WEIGHTS,
    INF_TIME,
    LAST_NAMES,
    MIN,
    N_ASSETS,
    NICE_UNIT,
    PAIRS,
    SCALES,
    SEC,
    TICKET_CATEGORIES,
    TIER_ACTIVITY,
    TIER_MAKER_WEIGHT,
    TIER_NOTIONAL,
    TIER_ORDERS,
    TIER_RATE_E4,
    TIERS,
    TRADED_PAIRS,
    UNIT,
    WITHDRAWAL_FEE,
    A,
)
from .faults import FaultPlan
from .ids import mix64, salt, uuid_str
from .planted import PlantedCases
from .writer import Expr, LandingWriter, Uuid, cat, nullable

# Churn announced by behaviour (Engine.churn_decline, README.md "Churn"): over the last
# CHURN_DECLINE_DAYS days before a break the chance to trade falls to CHURN_DECLINE_FLOOR of
# its usual value, and a declining user opens a support ticket with this chance per day.
CHURN_DECLINE_DAYS = 14
CHURN_DECLINE_FLOOR = 0.2
CHURN_DECLINE_TICKET_RATE = 0.06


# Flow kinds, in the order they sort at equal times within one wallet.
K_DEPOSIT, K_TRADE, K_FEE, K_WITHDRAWAL, K_WFEE = 0, 1, 2, 3, 4
TX_TYPE_NAMES = ("deposit", "withdrawal", "trade", "fee")
TX_TYPE_CODE = np.array([0, 2, 3, 1, 3], dtype=np.int32)  # kind -> index in TX_TYPE_NAMES
ST_COMPLETED, ST_FAILED, ST_PENDING = 0, 1, 2
TX_STATUS = ("completed", "failed", "pending")
# Share of the fee rows that keep the time of the trade leg just before them in their wallet's
# chain (a tie, as exchange ledgers book a leg and its fee in one instant), and the share of those
# ties whose fee gets the lower transaction id: chain order is never id order (SPEC section 7).
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
SEC_TYPES = ("login_failed", "suspicious_activity", "large_withdrawal")
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

NP = len(TRADED_PAIRS)
P_ID = np.array([p.pair_id for p in TRADED_PAIRS], dtype=np.int64)
P_BASE = np.array([A[p.base] for p in TRADED_PAIRS], dtype=np.int64)
P_QUOTE = np.array([A[p.quote] for p in TRADED_PAIRS], dtype=np.int64)
P_PD = np.array([p.price_dec for p in TRADED_PAIRS], dtype=np.int64)
P_QD = np.array([p.qty_dec for p in TRADED_PAIRS], dtype=np.int64)
P_MAKER = np.array([p.maker_rate_e4 for p in TRADED_PAIRS], dtype=np.int64)
P_W = np.array([p.weight for p in TRADED_PAIRS], dtype=np.float64)
P_W = P_W / P_W.sum()
P_NOTIONAL_SCALE = (10 ** (8 - P_PD - P_QD)).astype(np.int64)  # qty_int*price_int -> 1e-8 units
P_QTY_UNIT = (10 ** (8 - P_QD)).astype(np.int64)
P_PRICE_UNIT = (10 ** (8 - P_PD)).astype(np.int64)
NICE = np.array([NICE_UNIT[a] for a in ASSETS], dtype=np.int64)
WFEE = np.array([WITHDRAWAL_FEE[a] for a in ASSETS], dtype=np.int64)
TIER_RATE = np.array([0, TIER_RATE_E4[1], TIER_RATE_E4[2], TIER_RATE_E4[3]], dtype=np.int64)


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


def _typed(flows: dict) -> dict:
    return {k: np.asarray(flows[k], dtype=t) for k, t in FLOW_DTYPES.items()}


def _date(d: dt.date) -> str:
    return d.isoformat()


def _round_half_up_div(num: np.ndarray, den: int) -> np.ndarray:
    return (num + den // 2) // den


class Simulator:
    def __init__(
        self,
        out_dir,
        scale: str = "small",
        seed: int = 42,
        end_date=None,
        faults: bool = True,
        quiet: bool = True,
        until=None,
        overwrite: bool = False,
    ):
        if scale not in SCALES:
            raise ValueError(f"unknown scale {scale!r}; choose one of {sorted(SCALES)}")
        self.S = SCALES[scale]
        self.seed = int(seed)
        self.salt = salt(self.seed)
        end = end_date or DEFAULT_END_DATE
        if isinstance(end, str):
            end = dt.date.fromisoformat(end)
        self.end_date = end
        self.D = self.S.days
        self.start_date = end - dt.timedelta(days=self.D - 1)
        self.history_date = self.start_date - dt.timedelta(days=1)
        self.start_us = (
            int(
                dt.datetime(
                    self.start_date.year, self.start_date.month, self.start_date.day, tzinfo=dt.UTC
                ).timestamp()
            )
            * SEC
        )
        self.faults = faults
        self.quiet = quiet
        if isinstance(until, str):
            until = dt.date.fromisoformat(until)
        self.until = until
        self.out = Path(out_dir)
        self._prepare_out(overwrite)
        self.w = LandingWriter(self.out, self.salt)
        self.cases = PlantedCases(self)
        self.counters = {k: 0 for k in ENTITY}
        self.anomaly_days = {}
        if self.S.anomalies:
            self.anomaly_days = {
                "registration_surge": self.fd(0.35),
                "volume_spike": self.fd(0.55),
                "revenue_drop": self.fd(0.78),
            }
        self.deferred: dict[str, list] = {}

    # ------------------------------------------------------------------ helpers
    def fd(self, fraction: float) -> int:
        """A day index at a fraction of the window."""
        return int(min(self.D - 1, max(0, round(fraction * (self.D - 1)))))

    def rng(self, stream: str, day: int = -1) -> np.random.Generator:
        code = int(
            mix64(np.array([sum(ord(c) * 131**i for i, c in enumerate(stream)) % (1 << 62)]))[0]
            >> 2
        )
        return np.random.default_rng([self.seed, code, day + 2])

    def day_start(self, d: int) -> int:
        return self.start_us + d * DAY

    def date_of(self, d: int) -> dt.date:
        return self.start_date + dt.timedelta(days=d)

    def label(self, d: int) -> str:
        return _date(self.date_of(d)) if d >= 0 else _date(self.history_date)

    def take(self, entity: str, n: int) -> np.ndarray:
        start = self.counters[entity]
        self.counters[entity] = start + int(n)
        return np.arange(start, start + int(n), dtype=np.int64)

    def uid(self, entity: str, counter: int) -> str:
        return uuid_str(int(counter), ENTITY[entity], self.salt)

    def day_of(self, t: np.ndarray) -> np.ndarray:
        """Window day index of times (-1 for anything before the window)."""
        return np.maximum(-1, np.floor_divide(np.asarray(t) - self.start_us, DAY))

    def iso(self, t: int) -> str:
        return dt.datetime.fromtimestamp(t / SEC, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")

    def _prepare_out(self, overwrite: bool) -> None:
        manifest = self.out / "_simulator" / "manifest.json"
        table_dirs = [self.out / t for t in TABLES]
        if overwrite:
            for folder in table_dirs + [self.out / "_simulator"]:
                shutil.rmtree(folder, ignore_errors=True)
        elif manifest.exists():
            old = json.loads(manifest.read_text())
            same = (old.get("scale"), old.get("seed"), old.get("end_date"), old.get("faults")) == (
                self.S.name,
                self.seed,
                _date(self.end_date),
                self.faults,
            )
            if not same:
                raise SystemExit(
                    f"{self.out} holds a simulation with other settings ({old.get('scale')}, "
                    f"seed {old.get('seed')}, end {old.get('end_date')}); "
                    "use --overwrite or another --out"
                )
        elif any(d.exists() and any(d.iterdir()) for d in table_dirs):
            raise SystemExit(
                f"{self.out} already holds landing files; use --overwrite or another --out"
            )
        self.out.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ deferred versions
    def defer(self, table: str, days: np.ndarray, cols: dict) -> None:
        """Rows (later versions) to write in the file of a later day; past the window: dropped."""
        days = np.asarray(days)
        keep = days < self.D
        if not keep.any():
            return
        self.deferred.setdefault(table, []).append(
            (days[keep], {k: np.asarray(v)[keep] for k, v in cols.items()})
        )

    def pop_deferred(self, table: str, d: int) -> dict | None:
        batches = self.deferred.get(table, [])
        out, rest = [], []
        for days, cols in batches:
            now = days == d
            if now.any():
                out.append({k: v[now] for k, v in cols.items()})
            if (~now).any():
                rest.append((days[~now], {k: v[~now] for k, v in cols.items()}))
        self.deferred[table] = rest
        if not out:
            return None
        return {k: np.concatenate([o[k] for o in out]) for k in out[0]}

    def with_deferred(self, table: str, d: int, batch: dict) -> dict:
        """The day's batch followed by the rows deferred to day d (later versions of rows)."""
        later = self.pop_deferred(table, d)
        if later is None:
            return batch
        return {k: np.concatenate([batch[k], later[k]]) for k in batch}

    # ------------------------------------------------------------------ intraday time
    def hour_weights(self, d: int) -> np.ndarray:
        w = np.array(HOUR_WEIGHTS, dtype=np.float64)
        if d == self.anomaly_days.get("revenue_drop"):
            w[6:15] *= 0.03  # matching-engine outage 06:00-15:00 UTC
        return w

    def times(self, rng, d: int, lo, hi, n: int | None = None) -> np.ndarray:
        """Random times in [lo, hi) following the day's intraday profile."""
        ds = self.day_start(d)
        lo = np.broadcast_to(
            np.asarray(lo, dtype=np.int64), (n,) if n is not None else np.shape(lo)
        )
        hi = np.broadcast_to(np.asarray(hi, dtype=np.int64), lo.shape)
        w = self.hour_weights(d)
        y = np.concatenate([[0.0], np.cumsum(w)]) / w.sum()
        x = np.arange(25, dtype=np.float64) * HOUR
        flo = np.interp((lo - ds).astype(np.float64), x, y)
        fhi = np.interp((hi - ds).astype(np.float64), x, y)
        u = flo + rng.random(lo.shape) * (fhi - flo)
        t = ds + np.interp(u, y, x).astype(np.int64)
        return np.clip(t, lo, np.maximum(lo, hi - 1))

    def churn_decline(self, d: int) -> np.ndarray:
        """Per user, the factor on the chance to trade on day d: churn is announced by behaviour.

        In the CHURN_DECLINE_DAYS days before a churner's last day the chance to trade falls
        linearly from 1 to CHURN_DECLINE_FLOOR (fewer fills and logins: a falling trend), and
        `support_tickets` opens extra tickets for them (frustration); see README.md, "Churn".
        Deterministic: it draws no random numbers, so every other stream is unchanged.
        """
        to_go = self.churn_day - d  # days until the break starts; <= 0 once it has
        in_decline = (to_go > 0) & (to_go <= CHURN_DECLINE_DAYS)
        slope = (1.0 - CHURN_DECLINE_FLOOR) / CHURN_DECLINE_DAYS
        return np.where(in_decline, CHURN_DECLINE_FLOOR + slope * (to_go - 1), 1.0)

    def day_factor(self, d: int) -> float:
        wd = self.date_of(d).weekday()
        f = (0.85 if wd >= 5 else 1.0) * (1.0 + 0.004 * d)
        if d == self.anomaly_days.get("volume_spike"):
            f *= 1.35
        if d == self.anomaly_days.get("revenue_drop"):
            f *= 0.55
        return f

    def order_factor(self, d: int) -> float:
        if d == self.anomaly_days.get("volume_spike"):
            return 2.6
        if d == self.anomaly_days.get("revenue_drop"):
            return 0.45
        return 1.0

    # ------------------------------------------------------------------ prices
    def setup_prices(self) -> None:
        rng = self.rng("prices")
        n_min = self.D * 1440 + 1
        self.n_min = n_min
        usd = np.ones((N_ASSETS, n_min), dtype=np.float64)
        market = rng.normal(0.0, 0.022 / np.sqrt(1440), n_min)
        market[0] = 0.0
        for name, (p0, vol, beta) in BASE_ASSETS.items():
            idio_vol = np.sqrt(max(vol**2 - (beta * 0.022) ** 2, (0.3 * vol) ** 2)) / np.sqrt(1440)
            steps = beta * market + rng.normal(0.0, idio_vol, n_min)
            steps[0] = 0.0
            usd[A[name]] = p0 * np.exp(np.cumsum(steps))
        usd[A["LUNA"]] = 0.00008
        self.usd_px = usd
        self.pair_px = usd[P_BASE] / usd[P_QUOTE]
        self.last_close = np.round(self.pair_px[:, 0] * 10.0**P_PD).astype(np.int64)

    def minute(self, t: np.ndarray) -> np.ndarray:
        return np.clip((np.asarray(t) - self.start_us) // MIN, 0, self.n_min - 1)

    def usd_value(self, asset: np.ndarray, amount_units: np.ndarray, t: np.ndarray) -> np.ndarray:
        return self.usd_px[asset, self.minute(t)] * amount_units / UNIT

    # ------------------------------------------------------------------ users
    def setup_users(self) -> None:
        S, D = self.S, self.D
        N = S.users
        rng = self.rng("users")
        P = int(round(N * 0.3))
        self.N, self.P = N, P
        pre = self.start_us - rng.integers(2 * 86400, 365 * 86400, P) * SEC
        dayw = np.array([self.day_factor(d) for d in range(D)]) * (1 + 0.01 * np.arange(D))
        if "registration_surge" in self.anomaly_days:
            dayw[self.anomaly_days["registration_surge"]] *= 5.0
        reg_day = rng.choice(D, N - P, p=dayw / dayw.sum())
        tod = (rng.random(N - P) * 86400).astype(np.int64) * SEC
        new = self.start_us + reg_day * DAY + tod
        created = np.concatenate([np.sort(pre), np.sort(new)])
        is_pre = np.arange(N) < P
        tier0 = np.where(
            is_pre,
            rng.choice([1, 2, 3], N, p=[0.70, 0.22, 0.08]),
            rng.choice([1, 2, 3], N, p=[0.95, 0.04, 0.01]),
        ).astype(np.int64)
        cw = np.array([w for _, w in COUNTRIES], dtype=np.float64)
        country = rng.choice(len(COUNTRIES), N, p=cw / cw.sum()).astype(np.int64)

        submit = created + rng.integers(120, 5400, N) * SEC
        delay = (
            np.clip(np.exp(rng.normal(np.log(4 * 3600), 1.1, N)), 600, 5 * 86400).astype(np.int64)
            * SEC
        )
        decision = submit + delay
        r = rng.random(N)
        kyc = np.where(
            is_pre,
            np.where(r < 0.92, 1, np.where(r < 0.95, 2, 0)),
            np.where(r < 0.85, 1, np.where(r < 0.90, 2, 0)),
        ).astype(np.int64)
        approved = np.where(kyc == 1, decision, INF_TIME)

        fac = np.exp(rng.normal(0.0, 0.45, N))
        t_act = np.vectorize(TIER_ACTIVITY.get)(tier0)
        self.p_act = np.clip(t_act * fac, 0.02, 0.92)
        self.lam = (
            np.vectorize(TIER_ORDERS.get)(tier0) * np.exp(rng.normal(0, 0.3, N)) * S.order_mult
        )
        self.notional = np.vectorize(TIER_NOTIONAL.get)(tier0) * np.exp(rng.normal(0, 0.45, N))
        self.maker_w = np.vectorize(TIER_MAKER_WEIGHT.get)(tier0) * fac
        self.never = rng.random(N) < np.where(is_pre, 0.12, 0.22)
        appr_day = np.where(
            approved < INF_TIME,
            self.day_of(np.minimum(approved, self.start_us + D * DAY) + 10 * MIN),
            D,
        )
        appr_day = np.maximum(appr_day, 0)
        self.first_day = appr_day + rng.geometric(0.5, N) - 1
        churn = rng.random(N) < 0.22
        self.churn_day = np.where(churn, rng.integers(1, max(2, D), N), 10**6)
        back = rng.random(N) < 0.4
        gap = rng.integers(S.gap_days[0], S.gap_days[1] + 1, N)
        self.return_day = np.where(churn & back, self.churn_day + gap, 10**6)

        # tier upgrades, suspensions and closures during the window
        window_end = self.start_us + D * DAY
        base_t = np.maximum(approved, self.start_us) + DAY
        span = np.maximum(window_end - base_t, 1)
        up = (rng.random(N) < 0.04) & (tier0 < 3) & (kyc == 1) & (base_t < window_end)
        self.upgrade_us = np.where(
            up, base_t + (rng.random(N) * span).astype(np.int64) // SEC * SEC, INF_TIME
        )
        self.tier1 = np.where(up, tier0 + 1, tier0)
        sus = (rng.random(N) < 0.003) & (kyc == 1) & (base_t < window_end)
        self.suspend_us = np.where(
            sus, base_t + (rng.random(N) * span).astype(np.int64) // SEC * SEC, INF_TIME
        )
        close_t = (
            self.start_us
            + (self.churn_day + rng.integers(1, 4, N)) * DAY
            + rng.integers(0, 86400, N) * SEC
        )
        closes = churn & ~back & (rng.random(N) < 0.15) & (close_t < window_end) & (kyc == 1)
        self.close_us = np.where(closes, close_t, INF_TIME)

        h = mix64(np.arange(N, dtype=np.uint64) ^ np.uint64(self.salt))
        self.ip_kind = (rng.random(N) < 0.15).astype(np.int64)
        v4 = (PUBLIC_OCTETS[(h >> np.uint64(24)).astype(np.int64) % len(PUBLIC_OCTETS)] << 24) | (
            (h & np.uint64(0xFFFFFF)).astype(np.int64)
        )
        # carrier networks, households, IPv6 /64s (addresses.py)
        self.ip_val = addresses.home_addresses(h, self.ip_kind, country, v4)
        self.device = (mix64(h) >> np.uint64(2)).astype(np.int64)
        self.ref_hash = (mix64(h ^ np.uint64(77)) >> np.uint64(2)).astype(np.int64)
        referred = (~is_pre) & (rng.random(N) < 0.2)
        self.referred_by = np.where(referred, (rng.random(N) * np.arange(N)).astype(np.int64), -1)
        self.first_name = rng.integers(0, len(FIRST_NAMES), N)
        self.last_name = rng.integers(0, len(LAST_NAMES), N)
        self.domain = rng.integers(0, len(EMAIL_DOMAINS), N)

        self.created, self.is_pre, self.tier0, self.country = created, is_pre, tier0, country
        self.kyc, self.submit, self.decision, self.approved = kyc, submit, decision, approved
        self.kyc_level = np.where(
            kyc == 1,
            np.where((tier0 >= 2) | (rng.random(N) < 0.25), 2, 1),
            np.where(kyc == 2, (rng.random(N) < 0.5).astype(np.int64), 0),
        )
        self.risk = (np.round(rng.beta(2, 9, N) * 100).astype(np.int64)) * 1_000_000
        nr = rng.random(N)
        self.kyc_note = np.where(
            kyc == 2,
            np.where(nr < 0.5, 3, 4),
            np.where(nr < 0.08, 0, np.where(nr < 0.12, 1, np.where(nr < 0.15, 2, -1))),
        )
        self.reserved = np.zeros(N, dtype=bool)
        self.last_login = np.full(N, -1, dtype=np.int64)
        self.funded_day = np.full(
            N, -10, dtype=np.int64
        )  # day of the last deposit made ahead of trading
        self.bal = np.zeros(N * N_ASSETS, dtype=np.int64)

    def tier_at(self, users: np.ndarray, t: np.ndarray) -> np.ndarray:
        return np.where(t >= self.upgrade_us[users], self.tier1[users], self.tier0[users])

    # ------------------------------------------------------------------ reference & history
    def write_reference(self) -> None:
        lab = self.label(-1)
        tiers = np.array(TIERS, dtype=object)
        self.w.write(
            "user_tiers",
            lab,
            {
                "id": tiers[:, 0].astype(np.int64),
                "tier_name": np.array([t[1] for t in TIERS]),
                "trading_fee_rate": np.array([t[2] for t in TIERS], dtype=np.int64) * 10_000,
                "withdrawal_limit_daily": np.array([t[3] for t in TIERS], dtype=np.int64) * UNIT,
                "minimum_balance_requirement": np.array([t[4] for t in TIERS], dtype=np.int64)
                * UNIT,
            },
            -1,
        )
        created = np.array(
            [
                int(dt.datetime.fromisoformat(p.created_at).replace(tzinfo=dt.UTC).timestamp())
                * SEC
                for p in PAIRS
            ],
            dtype=np.int64,
        )
        self.w.write(
            "trading_pairs",
            lab,
            {
                "pair_id": np.array([p.pair_id for p in PAIRS], dtype=np.int64),
                "symbol": np.array([p.symbol for p in PAIRS]),
                "base_asset": np.array([p.base for p in PAIRS]),
                "quote_asset": np.array([p.quote for p in PAIRS]),
                "status": np.array([p.status for p in PAIRS]),
                "min_order_size": np.array([10 ** (8 - p.qty_dec) for p in PAIRS], dtype=np.int64),
                "maker_fee_rate": np.array([p.maker_rate_e4 for p in PAIRS], dtype=np.int64)
                * 10_000,
                "taker_fee_rate": np.array([p.taker_rate_e4 for p in PAIRS], dtype=np.int64)
                * 10_000,
                "created_at": created,
            },
            -1,
        )

    def user_rows(self, users: np.ndarray, t: np.ndarray, registration: np.ndarray) -> dict:
        tier = self.tier_at(users, t)
        status = np.where(t >= self.close_us[users], 2, np.where(t >= self.suspend_us[users], 1, 0))
        last = self.last_login[users]
        last = np.where(registration | (last < 0) | (last > t), -1, last)
        return {
            "user_id": Uuid(users, ENTITY["user"]),
            "email": Expr(
                "lower({f}) || '.' || lower({l}) || {i}::VARCHAR || '@' || {d}",
                {
                    "f": cat(self.first_name[users], FIRST_NAMES),
                    "l": cat(self.last_name[users], LAST_NAMES),
                    "i": users,
                    "d": cat(self.domain[users], EMAIL_DOMAINS),
                },
            ),
            "created_at": self.created[users],
            "last_login": nullable(last, last < 0),
            "status": cat(status, USER_STATUS),
            "user_tier_id": tier,
            "country_code": cat(self.country[users], COUNTRY_CODES),
            "referral_code": Expr("printf('%08X', {h} & 4294967295)", {"h": self.ref_hash[users]}),
            "referred_by": Uuid(self.referred_by[users], ENTITY["user"]),
            "updated_at": t,
        }

    def kyc_versions(self) -> None:
        """Every user_kyc version: pending at submission, then the decision."""
        N = self.N
        users = np.arange(N)
        decided = self.kyc != 0
        v_user = np.concatenate([users, users[decided]])
        v_time = np.concatenate([self.submit, self.decision[decided]])
        v_status = np.concatenate([np.zeros(N, np.int64), self.kyc[decided]])
        v_level = np.concatenate([np.zeros(N, np.int64), self.kyc_level[decided]])
        v_appr = np.concatenate(
            [np.full(N, -1, np.int64), np.where(self.kyc[decided] == 1, self.decision[decided], -1)]
        )
        v_risk = np.concatenate([np.full(N, -1, np.int64), self.risk[decided]])
        v_note = np.concatenate([np.full(N, -1, np.int64), self.kyc_note[decided]])
        o = np.lexsort((v_status, v_time))
        self.kyc_rows = {
            "user": v_user[o],
            "t": v_time[o],
            "status": v_status[o],
            "level": v_level[o],
            "approved": v_appr[o],
            "risk": v_risk[o],
            "note": v_note[o],
        }
        self.kyc_day = self.day_of(self.kyc_rows["t"])

    def write_kyc(self, d: int) -> None:
        sel = np.flatnonzero(self.kyc_day == d) if d >= 0 else np.flatnonzero(self.kyc_day < 0)
        r = {k: v[sel] for k, v in self.kyc_rows.items()}
        self.w.write(
            "user_kyc",
            self.label(d),
            {
                "user_id": Uuid(r["user"], ENTITY["user"]),
                "kyc_level": r["level"],
                "verification_status": cat(r["status"], KYC_STATUS),
                "approved_at": nullable(r["approved"], r["approved"] < 0),
                "risk_score": nullable(r["risk"], r["risk"] < 0),
                "compliance_notes": cat(np.maximum(r["note"], 0), KYC_NOTES, r["note"] < 0),
                "updated_at": r["t"],
            },
            d,
        )

    def user_events(self) -> None:
        """Users versions: registration, then tier upgrade, suspension, closure."""
        N = self.N
        users = np.arange(N)
        ev_u, ev_t, ev_reg = [users], [self.created], [np.ones(N, bool)]
        for t in (self.upgrade_us, self.suspend_us, self.close_us):
            m = t < INF_TIME
            ev_u.append(users[m])
            ev_t.append(t[m])
            ev_reg.append(np.zeros(m.sum(), bool))
        u, t, reg = np.concatenate(ev_u), np.concatenate(ev_t), np.concatenate(ev_reg)
        o = np.lexsort((~reg, t))
        self.uev = {"user": u[o], "t": t[o], "reg": reg[o]}
        self.uev_day = self.day_of(self.uev["t"])

    def write_users(self, d: int) -> None:
        sel = np.flatnonzero(self.uev_day == d) if d >= 0 else np.flatnonzero(self.uev_day < 0)
        self.w.write(
            "users",
            self.label(d),
            self.user_rows(self.uev["user"][sel], self.uev["t"][sel], self.uev["reg"][sel]),
            d,
        )

    def write_history(self) -> None:
        """Pre-window extract: reference tables, users, KYC, opening deposits and wallets."""
        self.write_reference()
        self.write_users(-1)
        self.write_kyc(-1)
        rng = self.rng("history")
        pre = np.flatnonzero(self.is_pre & (self.approved < self.start_us) & ~self.reserved)
        # savings built up over the last three months in deposits below $5,000 (at most one a
        # day), richer for higher tiers: VIPs hold tens of thousands
        med = np.array([0, 2_000.0, 25_000.0, 350_000.0])[self.tier0[pre]]
        target = np.clip(med * np.exp(rng.normal(0, 0.9, pre.size)), 50, 400_000)
        lo = np.maximum(self.approved[pre] + HOUR, self.start_us - 90 * DAY)
        span = self.start_us - HOUR - lo
        n = np.clip(np.ceil(target / 3_500), 1, np.maximum(span // DAY, 1)).astype(np.int64)
        u = np.repeat(pre, n)
        k = np.arange(u.size) - np.repeat(np.cumsum(n) - n, n)
        width = np.repeat(span // n, n)
        t = (np.repeat(lo, n) + ((k + rng.random(u.size)) * width).astype(np.int64)) // SEC * SEC
        amt = np.clip(np.repeat(target / n, n) * rng.uniform(0.7, 1.3, u.size), 20, 4_900)
        units = (np.floor(amt / 10) * 10 * UNIT).astype(np.int64)
        pu, pt, pa = self.cases.history_deposits()
        u = np.concatenate([u, pu])
        t = np.concatenate([t, pt])
        units = np.concatenate([units, pa])
        asset = np.full(u.size, A["USDT"], np.int64)
        flows = self._flow(u, asset, t, K_DEPOSIT, units)
        res = self.post_ledger(-1, flows, strict=False)
        self.cases.record_history(flows, res["ctr"])

    # ------------------------------------------------------------------ the ledger
    def post_ledger(self, d: int, f: dict, strict: bool = True) -> dict:
        """Chain the day's flows per wallet, write transactions and wallets, update balances.

        Returns per original flow row: transaction counter and adjusted time."""
        # A large day has tens of millions of flows: each temporary array below is hundreds of
        # MB, so each is freed as soon as it is used (peak memory, SPEC section 8).
        key = f["user"] * N_ASSETS + f["asset"]
        o = np.lexsort((f["tie"], f["kind"], f["t"], key))
        key_s = key[o]
        del key
        seg, starts = ledger.segments(key_s)
        t = f["t"][o]
        tied = np.zeros(0, np.int64)
        if strict and t.size:
            t = ledger.strictly_increasing(t, seg, starts, self.day_start(d))
            tied = self._tie_fees_to_trade_legs(d, f, o, key_s, t)
        completed = f["status"][o] == ST_COMPLETED
        moves = np.where(completed, f["amt"][o], 0)
        opening = self.bal[key_s[starts]]
        after = ledger.running(opening, moves, seg, starts)
        del opening
        if t.size:
            if (after < 0).any():
                bad = np.flatnonzero(after < 0)[:5]
                raise AssertionError(f"negative balance on day {d}: keys {key_s[bad]}")
            if not strict:
                same = (np.diff(t) <= 0) & (seg[1:] == seg[:-1])
                if same.any():
                    raise AssertionError("history flows of one wallet share a timestamp")
        if t.size:
            self._write_wallets(d, key_s, starts, completed, t, after)
        # transaction counters in global time order (ties: wallet key), so ids sort like time,
        # except inside a tied leg and fee, whose ids go either way (below)
        g = np.lexsort((key_s, t))
        del key_s, seg, starts, completed
        og = o[g]  # original row of each output row: index the inputs once
        n = t.size
        ctr_out = self.take("transaction", n)
        ctr_orig = np.empty(n, np.int64)
        ctr_orig[og] = ctr_out
        if tied.size:
            # some ties get their ids the other way round: the fee sorts first by id
            rng = self.rng("tied_fee_ids", d)
            swap = tied[rng.random(tied.size) < TIED_FEE_ID_FIRST_SHARE]
            leg, fee = o[swap - 1], o[swap]
            ctr_orig[leg], ctr_orig[fee] = ctr_orig[fee], ctr_orig[leg].copy()
            ctr_out = ctr_orig[og]
        del tied
        t_orig = np.empty_like(t)
        t_orig[o] = t
        ref = f["ref"][og]
        ref_entity = f["ref_entity"][og]
        partner = f["partner"][og]
        has_partner = partner >= 0
        ref[has_partner] = ctr_orig[partner[has_partner]]
        ref_entity[has_partner] = ENTITY["transaction"]
        del partner, has_partner, o, t
        balance_after = after[g]
        del after
        balance_before = balance_after - moves[g]
        del moves
        # written in time order
        cols = {
            "transaction_id": Uuid(ctr_out, ENTITY["transaction"]),
            "user_id": Uuid(f["user"][og], ENTITY["user"]),
            "transaction_type": cat(TX_TYPE_CODE[f["kind"][og]], TX_TYPE_NAMES),
            "asset": cat(f["asset"][og], ASSETS),
            "amount": f["amt"][og],
            "balance_before": balance_before,
            "balance_after": balance_after,
            "reference_id": Uuid(np.where(ref < 0, -1, ref), np.maximum(ref_entity, 0)),
            "status": cat(f["status"][og], TX_STATUS),
            "created_at": t_orig[og],
        }
        del ref, ref_entity, og, g, balance_before, balance_after
        self.faults_plan.transactions(d, cols)
        return {"ctr": ctr_orig, "t": t_orig}

    def _tie_fees_to_trade_legs(self, d, f, o, key_s, t) -> np.ndarray:
        """Give a share of the fee rows the time of their fill's trade leg (the row before them
        in the wallet's chain; `t` is changed in place, still non-decreasing per wallet).

        Returns the sorted positions of those fee rows (each tied to the row before it)."""
        kind = f["kind"][o]
        fee = np.flatnonzero(kind[1:] == K_FEE) + 1
        fee = fee[(kind[fee - 1] == K_TRADE) & (key_s[fee - 1] == key_s[fee])]
        del kind
        fee = fee[f["tie"][o[fee]] == f["tie"][o[fee - 1]]]  # the same fill
        rng = self.rng("tied_fees", d)
        fee = fee[rng.random(fee.size) < TIED_FEE_SHARE]
        t[fee] = t[fee - 1]
        return fee

    def _write_wallets(self, d, key_s, starts, completed, t, after) -> None:
        """Wallets: one row per wallet with a completed movement (end-of-day balance)."""
        last_idx = np.append(starts[1:], t.size) - 1
        comp_t = np.where(completed, t, -1)
        last_comp = np.maximum.reduceat(comp_t, starts)
        moved = np.add.reduceat(completed.astype(np.int64), starts) > 0
        end_bal = after[last_idx]
        wkeys = key_s[starts]
        self.bal[wkeys] = end_bal
        wk, wb, wt = wkeys[moved], end_bal[moved], last_comp[moved]
        rng = self.rng("wallets", d)
        locked = np.where(
            rng.random(wk.size) < 0.25, (wb * rng.random(wk.size) * 0.3).astype(np.int64), 0
        )
        wo = np.lexsort((wk, wt))
        wk, wb, wt, locked = wk[wo], wb[wo], wt[wo], locked[wo]
        self.w.write(
            "wallets",
            self.label(d),
            {
                "wallet_id": Uuid(wk, ENTITY["wallet"]),
                "user_id": Uuid(wk // N_ASSETS, ENTITY["user"]),
                "asset": cat(wk % N_ASSETS, ASSETS),
                "balance": wb,
                "locked_balance": locked,
                "updated_at": wt,
            },
            d,
        )

    def topups(self, d: int, rng, f: dict, lower: np.ndarray) -> dict:
        """Deposits that fund a wallet before its balance would go negative: one before the
        flow where a shortfall first appears, and another each time it grows by a further
        chunk of about $4,500 (users top up as needed rather than moving a fortune at once)."""
        key = f["user"] * N_ASSETS + f["asset"]
        o = np.lexsort((f["tie"], f["kind"], f["t"], key))
        key_s = key[o]
        t_s = f["t"][o]
        seg, starts = ledger.segments(key_s)
        moves = np.where(f["status"][o] == ST_COMPLETED, f["amt"][o], 0)
        run = ledger.running(self.bal[key_s[starts]], moves, seg, starts)
        asset_s = key_s % N_ASSETS
        nice = NICE[asset_s]
        # shortfall so far in "nice" units (running maximum within each wallet's segment)
        short = np.minimum(-(-np.maximum(-run, 0) // nice), (1 << 31) - 1)
        if short.size:
            off = seg.astype(np.int64) << np.int64(31)
            short = np.maximum.accumulate(short + off) - off
        px = self.usd_px[asset_s, self.minute(np.full(key_s.size, self.day_start(d)))]
        chunk = np.maximum(np.floor(4500.0 / px * UNIT / nice), 1).astype(np.int64)
        k = -(-short // chunk)  # deposits needed so far
        prev = np.zeros_like(k)
        prev[1:] = k[:-1]
        prev[starts] = 0
        rows = np.flatnonzero(k > prev)
        if rows.size == 0:
            z = np.zeros(0, np.int64)
            return self._flow(z, z, z, K_DEPOSIT, z)
        total = short[np.append(starts[1:], short.size) - 1][seg[rows]]  # the day's shortfall
        covered = prev[rows] * chunk[rows]
        amount = np.minimum((k[rows] - prev[rows]) * chunk[rows], total - covered)
        last = k[rows] * chunk[rows] >= total
        extra = (
            amount * rng.uniform(0.05, 0.6, rows.size)
            + rng.uniform(5, 50, rows.size) / px[rows] * UNIT / nice[rows]
        )
        amount = amount + np.where(last, np.ceil(extra), 0).astype(np.int64)
        user = key_s[rows] // N_ASSETS
        if self.reserved[user].any():
            raise AssertionError("a planted user's scripted flows would need a top-up")
        lo = np.maximum(lower[user], self.day_start(d))
        t = t_s[rows] - rng.integers(30 * SEC, 30 * MIN, rows.size)
        prev_t = np.where(rows > starts[seg[rows]], t_s[np.maximum(rows - 1, 0)], lo)
        t = np.minimum(np.maximum(np.maximum(t, lo), prev_t), t_s[rows])
        return self._flow(user, asset_s[rows], t, K_DEPOSIT, amount * nice[rows])

    # ------------------------------------------------------------------ run
    def _clock(self, phase: str) -> None:
        """Adds the wall time since the last call to `phase` (reported, never written)."""
        now = time.perf_counter()
        self.timings[phase] = self.timings.get(phase, 0.0) + now - self._last
        self._last = now

    def run(self) -> dict:
        t0 = time.time()
        self.timings: dict[str, float] = {}
        self._last = time.perf_counter()
        self.setup_prices()
        self.setup_users()
        self.cases.setup_users()
        self.campaign_plan = CampaignPlan(self)  # after the planted cases reserve their users
        self.w.cache_user_ids(self.N, ENTITY["user"])
        self.faults_plan = FaultPlan(self)
        self.user_events()
        self.kyc_versions()
        self.write_history()
        self._clock("set-up and history")
        last = self.D - 1
        if self.until is not None:
            last = min(last, (self.until - self.start_date).days)
        self.last_day = last
        from tqdm import tqdm

        bar = tqdm(range(last + 1), disable=self.quiet, unit="day", desc=f"simulate {self.S.name}")
        for d in bar:
            bar.set_postfix_str(self.label(d))
            self.day(d)
        self.w.close()
        self._clock("waiting for gzip")
        manifest = self.write_manifest()
        manifest["elapsed_seconds"] = round(time.time() - t0, 2)
        manifest["timings_seconds"] = {k: round(v, 2) for k, v in self.timings.items()}
        manifest["cpu_seconds"] = round(time.process_time(), 2)
        return manifest

    def write_manifest(self) -> dict:
        meta = self.out / "_simulator"
        meta.mkdir(parents=True, exist_ok=True)
        n_cases = self.cases.write(meta / "planted_cases.csv")
        n_campaigns = self.campaign_plan.write_truth(meta / "campaign_truth.csv")
        manifest = {
            "simulator": "simulator",
            "scale": self.S.name,
            "seed": self.seed,
            "faults": self.faults,
            "start_date": _date(self.start_date),
            "end_date": _date(self.end_date),
            "last_day_written": _date(self.date_of(self.last_day)),
            "history_file_date": _date(self.history_date),
            "days": self.D,
            "users": self.N,
            "anomaly_days": {
                k: _date(self.date_of(v)) for k, v in sorted(self.anomaly_days.items())
            },
            "formats": {t: FORMATS[t][0] for t in sorted(FORMATS)},
            "row_counts": {t: int(self.w.rows.get(t, 0)) for t in sorted(TABLES)},
            "file_counts": {t: int(self.w.files.get(t, 0)) for t in sorted(TABLES)},
            "planted_cases": n_cases,
            "campaigns": n_campaigns,
        }
        (meta / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        return manifest

    # ------------------------------------------------------------------ one day
    def day(self, d: int) -> None:
        ds, de = self.day_start(d), self.day_start(d) + DAY
        rng = self.rng("day", d)
        clock = self._clock
        self.write_users(d)
        self.write_kyc(d)
        clock("users")
        N = self.N
        # who trades today
        lower = np.maximum(self.approved + 10 * MIN, ds)
        elig = (
            (self.kyc == 1)
            & (lower < de - 2 * HOUR)
            & ~self.never
            & ~self.reserved
            & (self.first_day <= d)
            & ~((self.churn_day <= d) & (d < self.return_day))
            & (self.suspend_us >= de)
            & (self.close_us >= de)
        )
        p = np.where(
            self.first_day == d,
            1.0,
            np.clip(self.p_act * self.day_factor(d) * self.churn_decline(d), 0, 0.97),
        )
        # campaign members: kept out of, or made to trade in, their window (campaigns.py)
        elig, p = self.campaign_plan.steer(d, elig, p)
        self.campaign_plan.write_members(d)
        active = np.flatnonzero(elig & (rng.random(N) < p))
        trading = self.trade(d, rng, active, lower)
        clock("orders and fills")
        logins = self.logins(d, rng, active, trading)
        clock("logins")
        flows = self.flows(d, rng, trading, lower)
        clock("ledger, trades, fees")
        self.market_data(d, trading)
        self.order_books(d)
        self.external_prices(d)
        clock("market data")
        self.security_and_compliance(d, rng, logins, flows)
        self.support_tickets(d, rng)
        self.system_metrics(d, rng)
        clock("security, compliance, support, metrics")

    # ------------------------------------------------------------------ trading
    def trade(self, d: int, rng, active: np.ndarray, lower: np.ndarray) -> dict:
        ds, de = self.day_start(d), self.day_start(d) + DAY
        # taker orders
        lam = self.lam[active] * self.order_factor(d)
        n_ord = 1 + rng.poisson(np.maximum(lam - 1.0, 0.0))
        tk_user = np.repeat(active, n_ord)
        K = tk_user.size
        t0 = self.times(rng, d, lower[tk_user] + MIN, de - 20 * SEC)
        tk_pair = rng.choice(NP, K, p=P_W)
        mnt = self.minute(t0)
        base_usd = self.usd_px[P_BASE[tk_pair], mnt]
        hold_usd = self.bal[tk_user * N_ASSETS + P_BASE[tk_pair]] * base_usd / UNIT
        holds = hold_usd >= 20.0
        sell = rng.random(K) < np.where(holds, 0.68, 0.2)
        notional = np.clip(self.notional[tk_user] * np.exp(rng.normal(0, 1.0, K)), 5.0, 500_000.0)
        per_order = np.repeat(n_ord, n_ord)  # a user's orders of the day share what the user has
        notional = np.where(
            sell & holds,
            np.minimum(notional, hold_usd / per_order * rng.uniform(0.3, 1.0, K)),
            notional,
        )
        # buyers spend what they have; only an empty account is funded for the whole order
        quote_usd0 = self.usd_px[P_QUOTE[tk_pair], mnt]
        cash_usd = self.bal[tk_user * N_ASSETS + P_QUOTE[tk_pair]] * quote_usd0 / UNIT
        # (a wallet holding less than half the order is topped up instead: a small leftover
        # balance does not shrink the user's usual order size)
        funded = cash_usd >= np.maximum(25.0, 0.5 * notional)
        notional = np.where(
            ~sell & funded,
            np.minimum(notional, cash_usd / per_order * rng.uniform(0.4, 0.95, K)),
            notional,
        )
        # an order that needs fresh funds stays within a few times the user's usual size
        fresh = np.where(sell, ~holds, ~funded)
        fresh_cap = np.maximum(self.notional[tk_user], 300.0) * rng.uniform(1.0, 6.0, K)
        notional = np.where(fresh, np.minimum(notional, fresh_cap), notional)
        notional = np.maximum(notional, 5.0)
        otype = rng.choice(3, K, p=[0.45, 0.50, 0.05])
        nf = rng.geometric(0.72, K)
        M = int(nf.sum())
        m_ord = np.repeat(np.arange(K), nf)
        ostart = np.concatenate([[0], np.cumsum(nf)[:-1]])
        m_idx = np.arange(M) - np.repeat(ostart, nf)
        m_t = t0[m_ord] + m_idx * 1000
        share = rng.gamma(2.0, size=M)
        share = share / np.add.reduceat(share, ostart)[m_ord]
        pair = tk_pair[m_ord]
        mm = self.minute(m_t)
        ref = self.pair_px[pair, mm]
        quote_usd = self.usd_px[P_QUOTE[pair], mm]
        qty = np.maximum(
            np.floor(notional[m_ord] * share / (ref * quote_usd) * 10.0 ** P_QD[pair]), 1
        ).astype(np.int64)
        # time order (ties: order, fill index)
        to = np.lexsort((m_idx, m_ord, m_t))
        m_ord, m_idx, m_t, pair, ref, qty = (
            m_ord[to],
            m_idx[to],
            m_t[to],
            pair[to],
            ref[to],
            qty[to],
        )
        t_user = tk_user[m_ord]
        t_sell = sell[m_ord]
        # maker side: group matches by (pair, maker side), keep time order inside
        mk_sell = ~t_sell
        g = pair * 2 + mk_sell
        go = np.argsort(g, kind="stable")
        gs = g[go]
        gseg, gstarts = ledger.segments(gs)
        gcount = np.diff(np.append(gstarts, M))
        gid = gs[gstarts]
        carried_at = np.full(M, -1, np.int64)  # index into carried orders (group-sorted positions)
        co = getattr(self, "carried", None)
        co_fill = None
        if co is not None and co["user"].size:
            co_g = co["pair"] * 2 + co["sell"]
            co_rank = np.zeros(co_g.size, np.int64)
            oo = np.lexsort((co["created"], co_g))
            cs_, cst = ledger.segments(co_g[oo])
            co_rank[oo] = np.arange(oo.size) - cst[cs_]
            gi = np.searchsorted(gid, co_g)
            found = (gi < gid.size) & (gid[np.minimum(gi, gid.size - 1)] == co_g)
            gi = np.minimum(gi, max(gid.size - 1, 0))
            ok = found & (co_rank < np.where(found, gcount[gi] if gid.size else 0, 0))
            pos = (
                np.where(ok, gstarts[gi] + co_rank, 0)
                if gid.size
                else np.zeros(co_g.size, np.int64)
            )
            ok &= t_user[go[pos]] != co["user"] if M else False
            ok &= ~np.isin(co["user"], self.campaign_plan.blocked(d))
            carried_at[pos[ok]] = np.flatnonzero(ok)
            co_fill = ok
        is_c = carried_at >= 0
        # maker orders: runs of consecutive matches in a group
        st = rng.random(M) < 0.55
        if M:
            st[gstarts] = True
        st |= is_c
        st[1:] |= is_c[:-1]
        pool = np.flatnonzero(np.isin(np.arange(self.N), active) & (lower <= ds + 10 * MIN))
        if pool.size < 3:
            pool = np.flatnonzero((self.kyc == 1) & (self.approved < ds) & ~self.reserved)
            pool = np.setdiff1d(pool, self.campaign_plan.blocked(d))
        pw = self.maker_w[pool]
        pcdf = np.cumsum(pw) / pw.sum()
        gcdf = {}

        def group_cdf(g):
            """Makers sell what they hold and buy with what they have: weight by holdings."""
            if g not in gcdf:
                p, s_ = divmod(int(g), 2)
                asset = P_BASE[p] if s_ else P_QUOTE[p]
                held = (
                    self.bal[pool * N_ASSETS + asset] * self.usd_px[asset, self.minute(ds)] / UNIT
                )
                w = pw * (0.03 + np.minimum(held / self.notional[pool], 4.0))
                gcdf[g] = np.cumsum(w) / w.sum()
            return gcdf[g]

        def draw(groups):
            out = np.empty(groups.size, np.int64)
            for g in np.unique(groups):
                sel = np.flatnonzero(groups == g)
                cdf = group_cdf(g)
                out[sel] = pool[
                    np.minimum(np.searchsorted(cdf, rng.random(sel.size)), pool.size - 1)
                ]
            return out

        oid = np.cumsum(st) - 1
        mu = draw(gs[st])[oid] if M else np.zeros(0, np.int64)
        tu = t_user[go]
        if co is not None and is_c.any():
            mu[is_c] = co["user"][carried_at[is_c]]
        planted_self = self.cases.self_trade_matches(d, rng, tu, pair[go], is_c)
        if planted_self.size:
            mu[planted_self] = tu[planted_self]
            st[planted_self] = True
            st[np.minimum(planted_self + 1, M - 1)] = True
        fixed = is_c.copy()
        fixed[planted_self] = True
        coll = (mu == tu) & ~fixed
        while coll.any():
            mu[coll] = draw(gs[coll])
            coll = (mu == tu) & ~fixed
        if M:
            st[1:] |= mu[1:] != mu[:-1]
            st[gstarts] = True
        moid = np.cumsum(st) - 1
        Mo = int(moid[-1]) + 1 if M else 0
        mo_first = np.flatnonzero(st)
        mo_user = mu[mo_first]
        mo_pair = pair[go][mo_first]
        mo_sell = mk_sell[go][mo_first]
        mo_t = m_t[go][mo_first]
        mo_c = carried_at[mo_first]
        hs = rng.uniform(0.5, 3.0, Mo) / 10_000
        mref = ref[go][mo_first] * 10.0 ** P_PD[mo_pair]
        mo_price = np.where(mo_sell, np.ceil(mref * (1 + hs)), np.floor(mref * (1 - hs))).astype(
            np.int64
        )
        if co is not None and (mo_c >= 0).any():
            mo_price[mo_c >= 0] = co["price"][mo_c[mo_c >= 0]]
        mo_price = np.maximum(mo_price, 1)
        price_g = mo_price[moid]
        # no accidental self-trades: a user must not be the maker of a fill at the price and
        # on the pair of one of the user's own opposite fills within 60 s (only planted ones)
        inv = np.empty(M, np.int64)
        inv[go] = np.arange(M)
        sell_g = mk_sell[go]
        for _ in range(6):
            conflict = self._self_trade_conflicts(
                t_user, mu[inv], pair, price_g[inv], t_sell, m_t, fixed[inv]
            )
            if conflict.size == 0:
                break
            pos = inv[conflict]
            mu[pos] = draw(gs[pos])
            clash = mu[pos] == tu[pos]
            while clash.any():
                mu[pos[clash]] = draw(gs[pos[clash]])
                clash = mu[pos] == tu[pos]
            st[pos] = True
            st[np.minimum(pos + 1, M - 1)] = True
        if M:
            st[1:] |= (mu[1:] != mu[:-1]) | (price_g[1:] != price_g[:-1])
            st[gstarts] = True
        moid = np.cumsum(st) - 1
        Mo = int(moid[-1]) + 1 if M else 0
        mo_first = np.flatnonzero(st)
        mo_user = mu[mo_first]
        mo_pair = pair[go][mo_first]
        mo_sell = sell_g[mo_first]
        mo_t = m_t[go][mo_first]
        mo_c = carried_at[mo_first]
        mo_price = price_g[mo_first]
        qty_g = qty[go]
        # a resting order offers what its owner holds (at the day's start): larger taker orders
        # are filled in part (makers with nothing to offer post a moderate size)
        mo_n = np.bincount(moid, minlength=Mo)
        asset = np.where(mo_sell, P_BASE[mo_pair], P_QUOTE[mo_pair])
        held_usd = (
            self.bal[mo_user * N_ASSETS + asset]
            * self.usd_px[asset, self.minute(np.full(Mo, ds))]
            / UNIT
        )
        # ... shared by all of the owner's resting orders that give the same asset today
        ua = mo_user * N_ASSETS + asset
        _, ua_inv, ua_n = np.unique(ua, return_inverse=True, return_counts=True)
        share = mo_n * np.sqrt(ua_n[ua_inv]) * 1.5
        offer_usd = (
            np.where(
                held_usd >= np.maximum(25.0, self.notional[mo_user]),
                held_usd * rng.uniform(0.3, 0.9, Mo),
                np.maximum(self.notional[mo_user], 300.0) * rng.uniform(1.0, 6.0, Mo),
            )
            / share
        )
        unit_usd = (
            mo_price
            / 10.0 ** P_PD[mo_pair]
            / 10.0 ** P_QD[mo_pair]
            * self.usd_px[P_QUOTE[mo_pair], self.minute(mo_t)]
        )
        cap = np.maximum(np.floor(offer_usd / unit_usd), 1).astype(np.int64)
        qty_g = np.minimum(qty_g, cap[moid])
        co_filled = None
        if co is not None and co["user"].size:
            # the resting order gives at most its quantity; the taker takes at most what it wanted
            qty_g[is_c] = np.minimum(co["qty"][carried_at[is_c]], qty_g[is_c])
            co_filled = np.zeros(co["user"].size, np.int64)
            co_filled[carried_at[is_c]] = qty_g[is_c]
        # back to time order
        price = price_g[inv]
        qty = qty_g[inv]
        m_user = mu[inv]
        m_moid = moid[inv]

        # fills: taker 2r, maker 2r+1 (r = time rank of the match)
        tr_base = self.take("trade", 2 * M)[0] if M else self.counters["trade"]
        if d == self.cases.self_day:
            self.cases.record_self_trades(d, go[planted_self], tr_base, t_user)
        notional_units = qty * price * P_NOTIONAL_SCALE[pair]
        t_rate = TIER_RATE[self.tier_at(t_user, m_t)]
        m_rate = P_MAKER[pair]
        t_fee = _round_half_up_div(notional_units * t_rate, 10_000)
        m_fee = _round_half_up_div(notional_units * m_rate, 10_000)

        # taker orders
        tk_ctr = self.take("order", K)
        mk_ctr = self.take("order", Mo)
        t_filled = np.bincount(m_ord, weights=qty, minlength=K).astype(np.int64)
        ord_sorted = np.argsort(m_ord, kind="stable")
        first_in_ord = np.concatenate([[0], np.cumsum(nf)[:-1]])
        price_by_ord = price[ord_sorted]
        t_max = np.maximum.reduceat(price_by_ord, first_in_ord) if M else np.zeros(0, np.int64)
        t_min = np.minimum.reduceat(price_by_ord, first_in_ord) if M else np.zeros(0, np.int64)
        t_last = np.maximum.reduceat(m_t[ord_sorted], first_in_ord) if M else np.zeros(0, np.int64)
        slip = rng.uniform(0, 8e-4, K)
        lim = np.where(sell, np.floor(t_min * (1 - slip)), np.ceil(t_max * (1 + slip))).astype(
            np.int64
        )
        lim = np.maximum(lim, 1)
        t_price = np.where(otype == 0, -1, lim)
        t_partial = (otype != 0) & (rng.random(K) < 0.12)
        t_qty = np.where(
            t_partial,
            t_filled + np.maximum(1, (t_filled * rng.uniform(0.1, 1.5, K)).astype(np.int64)),
            t_filled,
        )
        tk_created = t0 - rng.integers(1_000, 300_000, K)
        # maker orders
        m_filled = np.bincount(m_moid, weights=qty, minlength=Mo).astype(np.int64)
        mo_last = np.zeros(Mo, np.int64)
        np.maximum.at(mo_last, m_moid, m_t)
        mo_partial = (mo_c < 0) & (rng.random(Mo) < 0.18)
        mo_qty = np.where(
            mo_partial,
            m_filled + np.maximum(1, (m_filled * rng.uniform(0.1, 2.0, Mo)).astype(np.int64)),
            m_filled,
        )
        mo_lo = np.maximum(lower[mo_user], ds)
        mo_created = mo_t - (rng.exponential(20 * MIN, Mo)).astype(np.int64) - 1000
        mo_created = np.minimum(np.maximum(mo_created, mo_lo), mo_t - 1000)
        if co is not None and (mo_c >= 0).any():
            mo_created[mo_c >= 0] = co["created"][mo_c[mo_c >= 0]]
            mk_ctr[mo_c >= 0] = co["ctr"][mo_c[mo_c >= 0]]
        tk_order_of_match = tk_ctr[m_ord]
        mk_order_of_match = mk_ctr[m_moid]

        orders = []
        # taker orders: filled, or partial (then maybe cancelled)
        orders.append(
            self._order_versions(
                d,
                rng,
                tk_ctr,
                tk_user,
                tk_pair,
                otype,
                sell.astype(np.int64),
                t_qty,
                t_price,
                t_filled,
                tk_created,
                t_last,
                t_partial,
            )
        )
        # maker orders created today (not carried)
        new_mk = mo_c < 0
        orders.append(
            self._order_versions(
                d,
                rng,
                mk_ctr[new_mk],
                mo_user[new_mk],
                mo_pair[new_mk],
                np.ones(new_mk.sum(), np.int64),
                mo_sell[new_mk].astype(np.int64),
                mo_qty[new_mk],
                mo_price[new_mk],
                m_filled[new_mk],
                mo_created[new_mk],
                mo_last[new_mk],
                mo_partial[new_mk],
            )
        )
        # carried orders: filled today, or cancelled
        if co is not None and co["user"].size:
            filled_c = co_fill
            fill_time = np.full(co["user"].size, -1, np.int64)
            where = np.flatnonzero(mo_c >= 0)
            fill_time[mo_c[where]] = mo_last[where]
            cancel_t = ds + rng.integers(HOUR, 10 * HOUR, co["user"].size)
            nf_ = ~filled_c
            orders.append(
                self._order_rows(
                    co["ctr"][nf_],
                    co["user"][nf_],
                    co["pair"][nf_],
                    np.ones(nf_.sum(), np.int64),
                    co["sell"][nf_],
                    co["qty"][nf_],
                    co["price"][nf_],
                    np.full(nf_.sum(), OS_CANCELLED),
                    np.zeros(nf_.sum(), np.int64),
                    co["created"][nf_],
                    cancel_t[nf_],
                )
            )
            orders.append(
                self._order_versions(
                    d,
                    rng,
                    co["ctr"][filled_c],
                    co["user"][filled_c],
                    co["pair"][filled_c],
                    np.ones(filled_c.sum(), np.int64),
                    co["sell"][filled_c],
                    co["qty"][filled_c],
                    co["price"][filled_c],
                    co_filled[filled_c],
                    co["created"][filled_c],
                    fill_time[filled_c],
                    co_filled[filled_c] < co["qty"][filled_c],
                )
            )
        # orders that never fill
        n_un = int(round(0.055 * (K + Mo)))
        if active.size and n_un:
            uu = rng.choice(active, n_un)
            up = rng.choice(NP, n_un, p=P_W)
            us = rng.random(n_un) < 0.5
            ucr = self.times(rng, d, lower[uu], de - MIN)
            uref = self.pair_px[up, self.minute(ucr)] * 10.0 ** P_PD[up]
            off = rng.uniform(0.01, 0.06, n_un)
            uprice = np.maximum(
                np.where(us, np.ceil(uref * (1 + off)), np.floor(uref * (1 - off))), 1
            ).astype(np.int64)
            unot = np.clip(self.notional[uu] * np.exp(rng.normal(0, 0.8, n_un)), 5, 20_000)
            uqty = np.maximum(
                np.floor(
                    unot
                    / (uref / 10.0 ** P_PD[up] * self.usd_px[P_QUOTE[up], self.minute(ucr)])
                    * 10.0 ** P_QD[up]
                ),
                1,
            ).astype(np.int64)
            cancel = rng.random(n_un) < 0.7
            ucancel = np.where(
                cancel, ucr + MIN + rng.exponential(4 * HOUR, n_un).astype(np.int64), INF_TIME
            )
            uctr = self.take("order", n_un)
            same_day = ucancel < de
            orders.append(
                self._order_rows(
                    uctr,
                    uu,
                    up,
                    np.where(rng.random(n_un) < 0.93, 1, 2),
                    us.astype(np.int64),
                    uqty,
                    uprice,
                    np.where(same_day, OS_CANCELLED, OS_PENDING),
                    np.zeros(n_un, np.int64),
                    ucr,
                    np.where(same_day, ucancel, ucr),
                )
            )
            later = cancel & ~same_day
            if later.any():
                self.defer(
                    "orders",
                    self.day_of(ucancel[later]),
                    self._order_arrays(
                        uctr[later],
                        uu[later],
                        up[later],
                        np.ones(later.sum(), np.int64),
                        us[later].astype(np.int64),
                        uqty[later],
                        uprice[later],
                        np.full(later.sum(), OS_CANCELLED),
                        np.zeros(later.sum(), np.int64),
                        ucr[later],
                        ucancel[later],
                    ),
                )
        # resting orders placed late today that fill tomorrow
        self.carried = None
        if d < self.D - 1 and Mo:
            n_c = max(2, int(round(0.03 * Mo)))
            cu = pool[np.minimum(np.searchsorted(pcdf, rng.random(n_c)), pool.size - 1)]
            cp = rng.choice(NP, n_c, p=P_W)
            csell = (rng.random(n_c) < 0.5).astype(np.int64)
            ccr = self.times(rng, d, np.full(n_c, de - 6 * HOUR), de - MIN)
            cref = self.pair_px[cp, self.minute(ccr)] * 10.0 ** P_PD[cp]
            off = rng.uniform(2, 25, n_c) / 10_000
            cprice = np.maximum(
                np.where(csell == 1, np.ceil(cref * (1 + off)), np.floor(cref * (1 - off))), 1
            ).astype(np.int64)
            cnot = np.clip(self.notional[cu] * np.exp(rng.normal(0, 0.7, n_c)), 5, 15_000)
            give = np.where(csell == 1, P_BASE[cp], P_QUOTE[cp])
            held = self.bal[cu * N_ASSETS + give] * self.usd_px[give, self.minute(ccr)] / UNIT
            cnot = np.minimum(
                cnot,
                np.where(
                    held >= 25, held * rng.uniform(0.2, 0.6, n_c), rng.uniform(100, 2000, n_c)
                ),
            )
            cnot = np.maximum(cnot, 5.0)
            cqty = np.maximum(
                np.floor(
                    cnot
                    / (cref / 10.0 ** P_PD[cp] * self.usd_px[P_QUOTE[cp], self.minute(ccr)])
                    * 10.0 ** P_QD[cp]
                ),
                1,
            ).astype(np.int64)
            cctr = self.take("order", n_c)
            self.carried = {
                "user": cu,
                "pair": cp,
                "sell": csell,
                "price": cprice,
                "qty": cqty,
                "created": ccr,
                "ctr": cctr,
            }
            orders.append(
                self._order_rows(
                    cctr,
                    cu,
                    cp,
                    np.ones(n_c, np.int64),
                    csell,
                    cqty,
                    cprice,
                    np.full(n_c, OS_PENDING),
                    np.zeros(n_c, np.int64),
                    ccr,
                    ccr,
                )
            )
        later = self.pop_deferred("orders", d)
        if later is not None:
            orders.append(later)
        allo = {k: np.concatenate([o[k] for o in orders]) for k in orders[0]}
        oo = np.lexsort((allo["ctr"], allo["updated"]))
        allo = {k: v[oo] for k, v in allo.items()}
        self.faults_plan.orders(d, allo)

        # fills in trade-id order: taker then maker of each match
        F = 2 * M
        f_ctr = tr_base + np.arange(F, dtype=np.int64)
        inter = lambda a, b: np.stack([a, b], axis=1).reshape(-1)  # noqa: E731
        fills = {
            "ctr": f_ctr,
            "order": inter(tk_order_of_match, mk_order_of_match),
            "user": inter(t_user, m_user),
            "pair": inter(pair, pair),
            "sell": inter(t_sell.astype(np.int64), mk_sell.astype(np.int64)),
            "qty": inter(qty, qty),
            "price": inter(price, price),
            "fee": inter(t_fee, m_fee),
            "maker": inter(np.zeros(M, bool), np.ones(M, bool)),
            "t": inter(m_t, m_t),
            "notional": inter(notional_units, notional_units),
        }
        return {
            "fills": fills,
            "M": M,
            "K": K,
            "active": active,
            "tk_user": tk_user,
            "t0": t0,
            "match_pair": pair,
            "match_t": m_t,
            "match_price": price,
            "match_qty": qty,
        }

    @staticmethod
    def _self_trade_conflicts(t_user, m_user, pair, price, t_sell, t, fixed) -> np.ndarray:
        """Matches whose maker fill would make its user's buy and sell meet (same pair and
        price, within 60 s) with another fill of that user."""
        M = t.size
        if M == 0:
            return np.zeros(0, np.int64)
        user = np.concatenate([t_user, m_user])
        sell = np.concatenate([t_sell, ~t_sell])
        maker = np.concatenate([np.zeros(M, bool), np.ones(M, bool)])
        match = np.concatenate([np.arange(M), np.arange(M)])
        pr = np.concatenate([price, price])
        pa_ = np.concatenate([pair, pair])
        tt = np.concatenate([t, t])
        o = np.lexsort((tt, pr, pa_, user))
        same = (
            (user[o][1:] == user[o][:-1]) & (pa_[o][1:] == pa_[o][:-1]) & (pr[o][1:] == pr[o][:-1])
        )
        bad = same & (sell[o][1:] != sell[o][:-1]) & (tt[o][1:] - tt[o][:-1] <= 60 * SEC)
        i, j = o[:-1][bad], o[1:][bad]
        # fix the maker fill of the pair (the later one if both are), never a planted match
        pick = np.where(maker[j], j, np.where(maker[i], i, -1))
        pick = pick[pick >= 0]
        m = np.unique(match[pick])
        return m[~fixed[m]]

    def _order_arrays(
        self, ctr, user, pair, otype, sell, qty, price, status, filled, created, updated
    ):
        return {
            "ctr": ctr,
            "user": user,
            "pair": pair,
            "otype": otype,
            "sell": sell,
            "qty": qty,
            "price": price,
            "status": status,
            "filled": filled,
            "created": created,
            "updated": updated,
        }

    def _order_rows(self, *args):
        return self._order_arrays(*[np.asarray(a, dtype=np.int64) for a in args])

    def _order_versions(
        self, d, rng, ctr, user, pair, otype, sell, qty, price, filled, created, last, partial
    ):
        """Today's version of orders with fills; partial ones may be cancelled later."""
        n = ctr.size
        de = self.day_start(d) + DAY
        status = np.where(partial, OS_PARTIAL, OS_FILLED)
        cancel = partial & (rng.random(n) < 0.6)
        cancel_t = last + MIN + rng.exponential(8 * HOUR, n).astype(np.int64)
        today = cancel & (cancel_t < de)
        status = np.where(today, OS_CANCELLED, status)
        updated = np.where(today, cancel_t, last)
        later = cancel & ~today
        if later.any():
            self.defer(
                "orders",
                self.day_of(cancel_t[later]),
                self._order_rows(
                    ctr[later],
                    user[later],
                    pair[later],
                    otype[later],
                    sell[later],
                    qty[later],
                    price[later],
                    np.full(later.sum(), OS_CANCELLED),
                    filled[later],
                    created[later],
                    cancel_t[later],
                ),
            )
        return self._order_rows(
            ctr, user, pair, otype, sell, qty, price, status, filled, created, updated
        )

    def order_columns(self, o: dict) -> dict:
        return {
            "order_id": Uuid(o["ctr"], ENTITY["order"]),
            "user_id": Uuid(o["user"], ENTITY["user"]),
            "pair_id": P_ID[o["pair"]],
            "order_type": cat(o["otype"], ORDER_TYPES),
            "side": cat(o["sell"], SIDES),
            "quantity": o["qty"] * P_QTY_UNIT[o["pair"]],
            "price": nullable(o["price"] * P_PRICE_UNIT[o["pair"]], o["price"] < 0),
            "status": cat(o["status"], ORDER_STATUS),
            "filled_quantity": o["filled"] * P_QTY_UNIT[o["pair"]],
            "created_at": o["created"],
            "updated_at": o["updated"],
        }

    def trade_columns(self, f: dict) -> dict:
        return {
            "trade_id": Uuid(f["ctr"], ENTITY["trade"]),
            "order_id": Uuid(f["order"], ENTITY["order"]),
            "user_id": Uuid(f["user"], ENTITY["user"]),
            "pair_id": P_ID[f["pair"]],
            "side": cat(f["sell"], SIDES),
            "quantity": f["qty"] * P_QTY_UNIT[f["pair"]],
            "price": f["price"] * P_PRICE_UNIT[f["pair"]],
            "fee": f["fee"],
            "fee_asset": cat(P_QUOTE[f["pair"]], ASSETS),
            "is_maker": f["maker"],
            "executed_at": f["t"],
        }

    def fee_columns(self, fc: dict) -> dict:
        return {
            "fee_id": Uuid(fc["ctr"], ENTITY["fee"]),
            "user_id": Uuid(fc["user"], ENTITY["user"]),
            "fee_type": cat(fc["type"], ("trading_fee", "withdrawal_fee")),
            "fee_amount": fc["amount"],
            "fee_asset": cat(fc["asset"], ASSETS),
            "trading_pair_id": nullable(
                np.where(fc["pair"] >= 0, P_ID[np.maximum(fc["pair"], 0)], 0), fc["pair"] < 0
            ),
            "collected_at": fc["t"],
        }

    # ------------------------------------------------------------------ balances
    def flows(self, d: int, rng, trading: dict, lower: np.ndarray) -> dict:
        ds, de = self.day_start(d), self.day_start(d) + DAY
        f = trading["fills"]
        F = f["ctr"].size
        buy = f["sell"] == 0
        base = P_BASE[f["pair"]]
        quote = P_QUOTE[f["pair"]]
        qty_units = f["qty"] * P_QTY_UNIT[f["pair"]]
        trade = {"ref": f["ctr"], "ref_entity": ENTITY["trade"], "tie": f["ctr"]}
        parts = [
            self._flow(
                f["user"], base, f["t"], K_TRADE, np.where(buy, qty_units, -qty_units), **trade
            ),
            self._flow(
                f["user"],
                quote,
                f["t"],
                K_TRADE,
                np.where(buy, -f["notional"], f["notional"]),
                **trade,
            ),
            self._flow(f["user"], quote, f["t"], K_FEE, -f["fee"], **trade),
        ]
        del qty_units
        # deposits without a trade in sight (funding the account ahead of time)
        cand = np.flatnonzero(
            (self.kyc == 1)
            & (self.approved < de - HOUR)
            & ~self.reserved
            & (self.suspend_us >= de)
            & (self.close_us >= de)
        )
        n_dep = rng.binomial(cand.size, 0.012) if cand.size else 0
        if n_dep:
            du = rng.choice(cand, n_dep, replace=False)
            da = np.where(rng.random(n_dep) < 0.8, A["USDT"], rng.choice(P_BASE, n_dep))
            dt_ = self.times(rng, d, np.maximum(self.approved[du] + 5 * MIN, ds), de - HOUR)
            usd = np.clip(np.exp(rng.normal(np.log(300), 0.9, n_dep)), 20, 4800)
            px = self.usd_px[da, self.minute(dt_)]
            amt = np.maximum(
                (np.floor(usd / px * UNIT / NICE[da]) * NICE[da]).astype(np.int64), NICE[da]
            )
            parts.append(self._flow(du, da, dt_, K_DEPOSIT, amt))
            self.funded_day[du] = d
        parts.extend(_typed(p) for p in self.cases.flows(d))
        offset = 0
        for part in parts:  # partner indices are relative to their part
            part["partner"] = np.where(part["partner"] >= 0, part["partner"] + offset, -1)
            offset += part["user"].size
        # column by column, each part's column freed once copied: never two whole copies
        fl = {k: np.concatenate([p.pop(k) for p in parts]) for k in list(parts[0])}
        del parts
        # fund what would go negative
        tops = self.topups(d, rng, fl, np.maximum(self.approved + MIN, self.created + MIN))
        self.funded_day[tops["user"]] = d
        for k in fl:
            fl[k] = np.concatenate([fl[k], tops.pop(k)])
        del tops
        # end-of-day balances before withdrawals
        key = fl["user"] * N_ASSETS + fl["asset"]
        moves = np.where(fl["status"] == ST_COMPLETED, fl["amt"], 0)
        end = self.bal.copy()
        np.add.at(end, key, moves)
        ko = np.lexsort((fl["t"], key))
        kseg, kst = ledger.segments(key[ko])
        kkeys = key[ko][kst]
        klast = fl["t"][ko][np.append(kst[1:], ko.size) - 1] if ko.size else np.zeros(0, np.int64)
        # withdrawals: a share of what is there, after the day's other flows of that wallet
        wk = np.flatnonzero(end > 0)
        wk = wk[~self.reserved[wk // N_ASSETS]]
        wu, wa = wk // N_ASSETS, wk % N_ASSETS
        px0 = self.usd_px[wa, self.minute(np.full(wk.size, ds))]
        usd = end[wk] * px0 / UNIT
        touched = np.isin(wk, kkeys)
        young = self.created[wu] > ds - 30 * DAY
        prob = np.where(touched, 0.035, 0.006) * (usd >= 25) * np.where(young, 0.3, 1.0)
        prob *= (self.suspend_us[wu] >= de) & (self.close_us[wu] >= de)
        # nobody cashes out within a day of funding the account without trading
        prob *= self.funded_day[wu] < d - 1
        pick = rng.random(wk.size) < prob
        wk, wu, wa, usd, px0, touched = (
            wk[pick],
            wu[pick],
            wa[pick],
            usd[pick],
            px0[pick],
            touched[pick],
        )
        frac = np.where(
            self.created[wu] > ds - 30 * DAY,
            rng.uniform(0.1, 0.35, wk.size),
            rng.uniform(0.2, 0.8, wk.size),
        )
        want = np.minimum(end[wk] * frac, (4500.0 / px0) * UNIT * rng.uniform(0.3, 1.0, wk.size))
        amt = (np.floor(want / NICE[wa]) * NICE[wa]).astype(np.int64)
        amt = np.minimum(amt, end[wk] - WFEE[wa])
        ok = amt > 0
        wk, wu, wa, amt, touched = wk[ok], wu[ok], wa[ok], amt[ok], touched[ok]
        if wk.size:
            pos = np.searchsorted(kkeys, wk)
            last = (
                np.where(touched, klast[np.minimum(pos, max(kkeys.size - 1, 0))], 0)
                if kkeys.size
                else np.zeros(wk.size, np.int64)
            )
            lo = np.maximum(np.maximum(last + MIN, ds + MIN), self.approved[wu] + MIN)
            lo = np.minimum(lo, de - 3 * SEC)
            wt = lo + (rng.random(wk.size) * (de - 2 * SEC - lo)).astype(np.int64)
            status = np.where(rng.random(wk.size) < 0.02, ST_FAILED, ST_COMPLETED)
            if d == self.D - 1:
                status = np.where(
                    (wt > de - 3 * HOUR) & (rng.random(wk.size) < 0.5), ST_PENDING, status
                )
            n0 = fl["user"].size
            w = self._flow(wu, wa, wt, K_WITHDRAWAL, -amt, status)
            comp = status == ST_COMPLETED
            fee = self._flow(wu[comp], wa[comp], wt[comp], K_WFEE, -WFEE[wa[comp]])
            fee["partner"] = (n0 + np.flatnonzero(comp)).astype(np.int32)
            for k in fl:
                fl[k] = np.concatenate([fl[k], w.pop(k), fee.pop(k)])
        res = self.post_ledger(d, fl)
        fl["ctr"] = res["ctr"]
        fl["t_adj"] = res["t"]
        self.cases.record_flows(d, fl)
        # fee collections: trading fees (one per fill, at executed_at) and withdrawal fees
        wf = np.flatnonzero(fl["kind"] == K_WFEE)
        fc = {
            "user": np.concatenate([f["user"], fl["user"][wf]]),
            "type": np.concatenate([np.zeros(F, np.int64), np.ones(wf.size, np.int64)]),
            "amount": np.concatenate([f["fee"], -fl["amt"][wf]]),
            "asset": np.concatenate([quote, fl["asset"][wf]]),
            "pair": np.concatenate([f["pair"], np.full(wf.size, -1, np.int64)]),
            "t": np.concatenate([f["t"], fl["t_adj"][wf]]),
            "src": np.concatenate([f["ctr"], np.full(wf.size, -1, np.int64)]),
        }
        fo = np.lexsort((fc["src"], fc["t"]))
        fc = {k: v[fo] for k, v in fc.items()}
        fc["ctr"] = self.take("fee", fc["t"].size)
        self.faults_plan.fees_and_trades(d, fc, f)
        return fl

    def _flow(self, user, asset, t, kind, amt, status=None, ref=None, ref_entity=-1, tie=0):
        n = np.asarray(user).size
        return _typed(
            {
                "user": user,
                "asset": asset,
                "t": t,
                "kind": np.full(n, kind),
                "amt": amt,
                "status": np.zeros(n) if status is None else status,
                "ref": np.full(n, -1) if ref is None else ref,
                "ref_entity": np.full(n, ref_entity),
                "tie": np.broadcast_to(tie, (n,)),
                "partner": np.full(n, -1),
                "tag": np.full(n, -1),
            }
        )

    # ------------------------------------------------------------------ logins
    def logins(self, d: int, rng, active: np.ndarray, trading: dict) -> dict:
        ds, de = self.day_start(d), self.day_start(d) + DAY
        first = np.full(self.N, de, np.int64)
        np.minimum.at(first, trading["tk_user"], trading["t0"])
        makers = np.unique(trading["fills"]["user"])
        users = np.union1d(active, makers)
        lo = np.maximum(ds, self.created[users] + SEC)
        has_first = first[users] < de
        t1 = np.where(has_first, first[users] - rng.integers(MIN, 30 * MIN, users.size), 0)
        t1 = np.where(has_first, np.maximum(t1, lo), self.times(rng, d, lo, de - MIN))
        t1 = np.minimum(t1, np.where(has_first, first[users] - SEC, de - SEC))
        t1 = np.maximum(t1, lo)
        again = rng.random(users.size) < 0.3
        t2 = self.times(rng, d, lo[again], de - SEC)
        idle = np.flatnonzero(
            (self.kyc != 2) & (self.created < de - HOUR) & ~self.reserved & (self.close_us >= de)
        )
        n_idle = rng.binomial(idle.size, 0.03) if idle.size else 0
        iu = rng.choice(idle, n_idle, replace=False) if n_idle else np.zeros(0, np.int64)
        it = self.times(rng, d, np.maximum(ds, self.created[iu] + SEC), de - SEC)
        lu = np.concatenate([users, users[again], iu])
        lt = np.concatenate([t1, t2, it]) // SEC * SEC
        n = lu.size
        ev = np.zeros(n, np.int64)
        travel = rng.random(n) < 0.03
        kind = np.where(travel, 0, self.ip_kind[lu])
        ipv = np.where(
            travel,
            PUBLIC_OCTETS[rng.integers(0, len(PUBLIC_OCTETS), n)] << 24
            | rng.integers(0, 1 << 24, n),
            self.ip_val[lu],
        )
        ipv = addresses.rotate_interface(ipv, kind, lu * 1_000_003 + lt // SEC)
        ctry = np.where(travel, rng.integers(0, len(COUNTRIES), n), self.country[lu])
        dev = np.where(rng.random(n) < 0.1, self.device[lu] ^ 0x5A5A5A, self.device[lu])
        # failed attempts before some logins, password changes and 2FA changes after some
        fail = rng.random(n) < 0.04
        fu, ft = (
            lu[fail],
            np.maximum(
                lt[fail] - rng.integers(5, 120, fail.sum()) * SEC,
                np.maximum(ds, self.created[lu[fail]]),
            ),
        )
        pc = rng.random(n) < 0.002
        tfa = (rng.random(n) < 0.01) & (self.created[lu] > ds - 3 * DAY)
        tfd = rng.random(n) < 0.0005
        rows = {
            "user": [lu, fu, lu[pc], lu[tfa], lu[tfd]],
            "t": [
                lt,
                ft // SEC * SEC,
                np.minimum(lt[pc] + rng.integers(60, 1200, pc.sum()) * SEC, de - SEC),
                np.minimum(lt[tfa] + rng.integers(60, 900, tfa.sum()) * SEC, de - SEC),
                np.minimum(lt[tfd] + rng.integers(60, 900, tfd.sum()) * SEC, de - SEC),
            ],
            "type": [
                ev,
                np.ones(fail.sum(), np.int64),
                np.full(pc.sum(), 2),
                np.full(tfa.sum(), 3),
                np.full(tfd.sum(), 4),
            ],
            "ipk": [kind, kind[fail], kind[pc], kind[tfa], kind[tfd]],
            "ipv": [ipv, ipv[fail], ipv[pc], ipv[tfa], ipv[tfd]],
            "country": [ctry, ctry[fail], ctry[pc], ctry[tfa], ctry[tfd]],
            "device": [dev, dev[fail], dev[pc], dev[tfa], dev[tfd]],
            "tag": [
                np.full(n, -1),
                np.full(fail.sum(), -1),
                np.full(pc.sum(), -1),
                np.full(tfa.sum(), -1),
                np.full(tfd.sum(), -1),
            ],
        }
        planted = self.cases.logins(d)
        for k in rows:
            rows[k].append(planted[k])
        lg = {k: np.concatenate(v).astype(np.int64) for k, v in rows.items()}
        o = np.lexsort((lg["type"], lg["user"], lg["t"]))
        lg = {k: v[o] for k, v in lg.items()}
        lg["ctr"] = self.take("login", lg["t"].size)
        self.cases.record_logins(d, lg)
        succ = lg["type"] == 0
        np.maximum.at(self.last_login, lg["user"][succ], lg["t"][succ])
        self.w.write(
            "login_events",
            self.label(d),
            {
                "event_id": Uuid(lg["ctr"], ENTITY["login"]),
                "user_id": Uuid(lg["user"], ENTITY["user"]),
                "event_type": cat(lg["type"], LOGIN_TYPES),
                "ip_address": Expr(IP_SQL, {"k": lg["ipk"], "v": lg["ipv"]}),
                "country_code": cat(lg["country"], COUNTRY_CODES),
                "device_id": Expr(
                    "printf('dev-%012x', {h} & 281474976710655)", {"h": lg["device"]}
                ),
                "occurred_at": lg["t"],
            },
            d,
        )
        return lg

    # ------------------------------------------------------------------ market data
    def market_data(self, d: int, trading: dict) -> None:
        ds = self.day_start(d)
        mp, mt, mpr, mq = (
            trading["match_pair"],
            trading["match_t"],
            trading["match_price"],
            trading["match_qty"],
        )
        cell = mp * 24 + (mt - ds) // HOUR
        o = np.argsort(cell, kind="stable")
        cs = cell[o]
        seg, st = ledger.segments(cs)
        n_cells = NP * 24
        cnt = np.zeros(n_cells, np.int64)
        opn = np.zeros(n_cells, np.int64)
        cls = np.zeros(n_cells, np.int64)
        hi = np.zeros(n_cells, np.int64)
        lo = np.zeros(n_cells, np.int64)
        vol = np.zeros(n_cells, np.int64)
        if cs.size:
            ids = cs[st]
            ends = np.append(st[1:], cs.size) - 1
            pr = mpr[o]
            cnt[ids] = np.diff(np.append(st, cs.size))
            opn[ids] = pr[st]
            cls[ids] = pr[ends]
            hi[ids] = np.maximum.reduceat(pr, st)
            lo[ids] = np.minimum.reduceat(pr, st)
            vol[ids] = np.add.reduceat(mq[o], st)
        cnt, opn, cls, hi, lo, vol = (a.reshape(NP, 24) for a in (cnt, opn, cls, hi, lo, vol))
        # hours without fills: a flat candle at the last price
        has = cnt > 0
        idx = np.where(has, np.arange(24)[None, :], -1)
        np.maximum.accumulate(idx, axis=1, out=idx)
        prev_close = np.where(
            idx >= 0, np.take_along_axis(cls, np.maximum(idx, 0), axis=1), self.last_close[:, None]
        )
        opn = np.where(has, opn, prev_close)
        hi = np.where(has, hi, prev_close)
        lo = np.where(has, lo, prev_close)
        cls = np.where(has, cls, prev_close)
        self.last_close = cls[:, -1].copy()
        pair = np.repeat(np.arange(NP), 24)
        ts = ds + np.tile(np.arange(24), NP) * HOUR
        pu = P_PRICE_UNIT[pair]
        cols = {
            "pair_id": P_ID[pair],
            "timestamp": ts,
            "open_price": opn.reshape(-1) * pu,
            "high_price": hi.reshape(-1) * pu,
            "low_price": lo.reshape(-1) * pu,
            "close_price": cls.reshape(-1) * pu,
            "volume": vol.reshape(-1) * P_QTY_UNIT[pair],
            "trade_count": cnt.reshape(-1),
        }
        self.cases.candles(d, cols)
        o = np.lexsort((cols["pair_id"], cols["timestamp"]))
        self.w.write("market_data_1h", self.label(d), {k: v[o] for k, v in cols.items()}, d)

    def order_books(self, d: int) -> None:
        ds = self.day_start(d)
        rng = self.rng("books", d)
        k = 96
        pair = np.tile(np.arange(NP), k)
        ts = ds + np.repeat(np.arange(k), NP) * 15 * MIN
        ref = self.pair_px[pair, self.minute(ts)] * 10.0 ** P_PD[pair]
        hs = rng.uniform(0.4, 4.0, ts.size) * (1 + 2 * (P_W[pair] < 0.06)) / 10_000
        bid = np.floor(ref * (1 - hs)).astype(np.int64)
        ask = np.maximum(np.ceil(ref * (1 + hs)).astype(np.int64), bid + 1)
        depth_usd = (
            4e6 * P_W[pair] / 0.3 * np.exp(rng.normal(0, 0.35, ts.size)) * (self.N / 50_000) ** 0.5
        )
        base_px = self.usd_px[P_BASE[pair], self.minute(ts)]
        bd = (depth_usd / base_px * UNIT).astype(np.int64)
        ad = (depth_usd * rng.uniform(0.7, 1.3, ts.size) / base_px * UNIT).astype(np.int64)
        ctr = self.take("snapshot", ts.size)
        cols = {
            "bid": bid,
            "ask": ask,
            "bd": bd,
            "ad": ad,
            "bid_null": np.zeros(ts.size, bool),
            "ask_null": np.zeros(ts.size, bool),
        }
        self.cases.order_books(d, cols, ctr, pair, ts)
        bid, ask = cols["bid"], cols["ask"]
        nulls = cols["bid_null"] | cols["ask_null"]
        mid = (bid + ask) / 2
        spread = np.round((ask - bid) / np.where(mid > 0, mid, 1) * 10_000).astype(np.int64)
        pu = P_PRICE_UNIT[pair]
        self.w.write(
            "order_book_snapshots",
            self.label(d),
            {
                "snapshot_id": Uuid(ctr, ENTITY["snapshot"]),
                "pair_id": P_ID[pair],
                "timestamp": ts,
                "best_bid_price": nullable(bid * pu, cols["bid_null"]),
                "best_ask_price": nullable(ask * pu, cols["ask_null"]),
                "spread_bps": nullable(spread, nulls),
                "bid_depth_1_percent": nullable(cols["bd"], cols["bid_null"]),
                "ask_depth_1_percent": nullable(cols["ad"], cols["ask_null"]),
            },
            d,
        )

    def external_prices(self, d: int) -> None:
        ds = self.day_start(d)
        rng = self.rng("external", d)
        assets = np.array([A[a] for a in BASE_ASSETS], dtype=np.int64)
        n = 24 * assets.size * 2
        hour = np.repeat(np.arange(24), assets.size * 2)
        asset = np.tile(np.repeat(assets, 2), 24)
        src = np.tile(np.array([0, 1]), 24 * assets.size)
        t = ds + hour * HOUR + np.where(src == 0, 20, 45) * SEC
        px = self.usd_px[asset, self.minute(t)] * (1 + rng.normal(0, 4e-4, n))
        cols = {"source": src, "asset": asset, "price": px, "t": t}
        self.cases.external_prices(d, cols)
        units = np.round(cols["price"] * UNIT).astype(np.int64)
        o = np.lexsort((src, asset, t))
        self.w.write(
            "external_prices",
            self.label(d),
            {
                "source": cat(src[o], SOURCES),
                "asset": cat(asset[o], ASSETS),
                "price_usd": units[o],
                "observed_at": t[o],
            },
            d,
        )

    # ------------------------------------------------------------------ security & compliance
    def security_and_compliance(self, d: int, rng, lg: dict, fl: dict) -> None:
        ds, de = self.day_start(d), self.day_start(d) + DAY
        # security events
        failed = np.flatnonzero(lg["type"] == 1)
        pick = failed[rng.random(failed.size) < 0.1]
        burst = self.cases.burst_security(d)
        sus_n = rng.poisson(1 + self.N / 5000)
        su = rng.integers(0, self.N, sus_n)
        su = su[self.created[su] < de - HOUR]
        s_t = self.times(rng, d, np.maximum(ds, self.created[su] + HOUR), de - SEC)
        comp = fl["status"] == ST_COMPLETED
        wd = np.flatnonzero(comp & (fl["kind"] == K_WITHDRAWAL))
        w_usd = -self.usd_value(fl["asset"][wd], fl["amt"][wd], fl["t_adj"][wd])
        big = wd[w_usd >= 4000]
        big_usd = w_usd[w_usd >= 4000]
        ev = {
            "user": np.concatenate([lg["user"][pick], burst["user"], su, fl["user"][big]]),
            "type": np.concatenate(
                [
                    np.zeros(pick.size, np.int64),
                    burst["type"],
                    np.ones(su.size, np.int64),
                    np.full(big.size, 2, np.int64),
                ]
            ),
            "sev": np.concatenate(
                [
                    np.zeros(pick.size, np.int64),
                    burst["sev"],
                    rng.integers(0, 2, su.size),
                    np.where(big_usd >= 10_000, 2, 1),
                ]
            ),
            "risk": np.concatenate(
                [
                    rng.integers(10, 40, pick.size),
                    burst["risk"],
                    rng.integers(30, 90, su.size),
                    rng.integers(40, 80, big.size),
                ]
            )
            * 1_000_000,
            "t": np.concatenate(
                [
                    lg["t"][pick] + rng.integers(1, 60, pick.size) * SEC,
                    burst["t"],
                    s_t,
                    fl["t_adj"][big] // SEC * SEC + rng.integers(5, 300, big.size) * SEC,
                ]
            ),
        }
        ev["t"] = np.minimum(ev["t"], de - SEC) // SEC * SEC
        n = ev["t"].size
        o = np.lexsort((ev["user"], ev["t"]))
        ev = {k: v[o] for k, v in ev.items()}
        ev["ctr"] = self.take("security", n)
        ev["status"] = np.zeros(n, np.int64)

        resolve = rng.random(n) < 0.7
        rt = ev["t"] + rng.integers(HOUR, 3 * DAY, n)
        self.defer(
            "security_events",
            self.day_of(rt[resolve]),
            {**{k: v[resolve] for k, v in ev.items()}, "status": np.ones(resolve.sum(), np.int64)},
        )
        ev = self.with_deferred("security_events", d, ev)
        self.w.write(
            "security_events",
            self.label(d),
            {
                "event_id": Uuid(ev["ctr"], ENTITY["security"]),
                "user_id": Uuid(ev["user"], ENTITY["user"]),
                "event_type": cat(ev["type"], SEC_TYPES),
                "severity": cat(ev["sev"], SEVERITIES),
                "ip_address": Expr(
                    IP_SQL, {"k": self.ip_kind[ev["user"]], "v": self.ip_val[ev["user"]]}
                ),
                "risk_score": ev["risk"],
                "status": cat(ev["status"], ("open", "resolved")),
                "created_at": ev["t"],
            },
            d,
        )

        # compliance alerts from the exchange's existing monitoring
        dw = np.flatnonzero(comp & ((fl["kind"] == K_DEPOSIT) | (fl["kind"] == K_WITHDRAWAL)))
        usd = np.abs(self.usd_value(fl["asset"][dw], fl["amt"][dw], fl["t_adj"][dw]))
        large = dw[usd >= 10_000]
        risky_country = np.isin(self.country[fl["user"][dw]], [C_IR, C_KP, C_VN])
        hrc = dw[(usd >= 1_000) & risky_country]
        n_unusual = min(rng.poisson(0.5 + self.N / 10_000), dw.size)
        unusual = rng.choice(dw, n_unusual, replace=False) if n_unusual else np.zeros(0, np.int64)
        rows = np.concatenate([large, unusual, hrc])
        atype = np.concatenate(
            [
                np.zeros(large.size, np.int64),
                np.ones(unusual.size, np.int64),
                np.full(hrc.size, 2, np.int64),
            ]
        )
        al = {
            "user": fl["user"][rows],
            "tx": fl["ctr"][rows],
            "type": atype,
            "amount": np.abs(fl["amt"][rows]),
            "t": np.minimum(
                fl["t_adj"][rows] // SEC * SEC + rng.integers(60, 1800, rows.size) * SEC, de - SEC
            ),
        }
        o = np.lexsort((al["tx"], al["t"]))
        al = {k: v[o] for k, v in al.items()}
        n = al["t"].size
        al["ctr"] = self.take("alert", n)
        al["inv"] = np.zeros(n, np.int64)
        al["disp"] = np.full(n, -1, np.int64)
        done = rng.random(n) < 0.75
        dtm = al["t"] + rng.integers(2 * HOUR, 5 * DAY, n)
        self.defer(
            "compliance_alerts",
            self.day_of(dtm[done]),
            {
                **{k: v[done] for k, v in al.items()},
                "inv": np.ones(done.sum(), np.int64),
                "disp": rng.choice(3, done.sum(), p=[0.7, 0.2, 0.1]),
            },
        )
        al = self.with_deferred("compliance_alerts", d, al)
        self.w.write(
            "compliance_alerts",
            self.label(d),
            {
                "alert_id": Uuid(al["ctr"], ENTITY["alert"]),
                "user_id": Uuid(al["user"], ENTITY["user"]),
                "transaction_id": Uuid(al["tx"], ENTITY["transaction"]),
                "alert_type": cat(al["type"], ALERT_TYPES),
                "transaction_amount": al["amount"],
                "investigation_status": cat(al["inv"], ("pending", "completed")),
                "disposition": cat(np.maximum(al["disp"], 0), DISPOSITIONS, al["disp"] < 0),
                "created_at": al["t"],
            },
            d,
        )

    def support_tickets(self, d: int, rng) -> None:
        ds, de = self.day_start(d), self.day_start(d) + DAY
        cand = np.flatnonzero((self.created < de - HOUR) & ~self.reserved)
        n = rng.poisson(1 + cand.size * 0.0015)
        tu = rng.choice(cand, n) if cand.size else np.zeros(0, np.int64)
        # Churners in their decline (churn_decline) open more tickets; their own stream, so
        # the draws above are unchanged.
        decline_rng = self.rng("churn_decline_tickets", d)
        to_go = self.churn_day[cand] - d
        declining = cand[(to_go > 0) & (to_go <= CHURN_DECLINE_DAYS)]
        extra = declining[decline_rng.random(declining.size) < CHURN_DECLINE_TICKET_RATE]
        tu = np.concatenate([tu, extra]).astype(np.int64)
        tt = self.times(rng, d, np.maximum(ds, self.created[tu] + HOUR), de - SEC) // SEC * SEC
        pu, pt = self.cases.tickets(d)
        tu = np.concatenate([tu, pu]).astype(np.int64)
        tt = np.concatenate([tt, pt]).astype(np.int64)
        n = tu.size
        o = np.lexsort((tu, tt))
        tu, tt = tu[o], tt[o]
        tk = {
            "ctr": self.take("ticket", n),
            "user": tu,
            "cat": rng.integers(0, len(TICKET_CATEGORIES), n),
            "status": np.zeros(n, np.int64),
            "created": tt,
            "resolved": np.full(n, -1, np.int64),
        }
        self.cases.record_tickets(d, tk)
        # later versions: some pending first, then solved or closed
        res_t = tt + (rng.exponential(DAY, n)).astype(np.int64) // SEC * SEC + HOUR
        pend = rng.random(n) < 0.3
        pend_t = tt + (res_t - tt) // 3
        self.defer(
            "support_tickets",
            self.day_of(pend_t[pend]),
            {**{k: v[pend] for k, v in tk.items()}, "status": np.ones(pend.sum(), np.int64)},
        )
        final = rng.random(n) < 0.92
        self.defer(
            "support_tickets",
            self.day_of(res_t[final]),
            {
                **{k: v[final] for k, v in tk.items()},
                "status": np.where(rng.random(final.sum()) < 0.7, 2, 3),
                "resolved": res_t[final],
            },
        )
        # a ticket's pending and final versions may fall on one day: the sort below orders them
        tk = self.with_deferred("support_tickets", d, tk)
        order = np.lexsort(
            (tk["status"], tk["ctr"], np.where(tk["resolved"] >= 0, tk["resolved"], tk["created"]))
        )
        tk = {k: v[order] for k, v in tk.items()}
        self.w.write(
            "support_tickets",
            self.label(d),
            {
                "ticket_id": Uuid(tk["ctr"], ENTITY["ticket"]),
                "user_id": Uuid(tk["user"], ENTITY["user"]),
                "category": cat(tk["cat"], TICKET_CATEGORIES),
                "status": cat(tk["status"], TICKET_STATUS),
                "created_at": tk["created"],
                "resolved_at": nullable(tk["resolved"], tk["resolved"] < 0),
            },
            d,
        )

    def system_metrics(self, d: int, rng) -> None:
        ds = self.day_start(d)
        k = 288
        t = ds + np.arange(k) * 5 * MIN + rng.integers(0, 20, k) * SEC
        hour = np.arange(k) // 12
        load = np.array(HOUR_WEIGHTS)[hour] * self.day_factor(d) * self.order_factor(d) ** 0.5
        api = np.exp(rng.normal(np.log(70), 0.25, k)) * (0.8 + 0.3 * load)
        dbc = np.round(60 + 70 * load + rng.normal(0, 8, k))
        opt = np.exp(rng.normal(np.log(5.5), 0.3, k)) * (0.7 + 0.4 * load)
        if d == self.anomaly_days.get("revenue_drop"):
            out = (hour >= 6) & (hour < 15)
            api = np.where(out, api * rng.uniform(6, 15, k), api)
            opt = np.where(out, opt * rng.uniform(8, 20, k), opt)
        vals = np.stack([api, np.maximum(dbc, 1), opt], axis=1).reshape(-1)
        typ = np.tile(np.arange(3), k)
        tt = np.repeat(t, 3)
        self.w.write(
            "system_metrics",
            self.label(d),
            {
                "metric_id": Uuid(self.take("metric", 3 * k), ENTITY["metric"]),
                "metric_type": cat(typ, METRIC_TYPES),
                "value": (np.round(vals, 4) * 10_000).astype(np.int64) * 10_000,
                "recorded_at": tt,
            },
            d,
        )


def simulate(
    out_dir,
    scale: str = "small",
    seed: int = 42,
    end_date=None,
    faults: bool = True,
    quiet: bool = True,
    until=None,
    overwrite: bool = False,
) -> dict:
    """Write a landing directory; returns the manifest (row counts per table, dates, cases)."""
    return Simulator(out_dir, scale, seed, end_date, faults, quiet, until, overwrite).run()
