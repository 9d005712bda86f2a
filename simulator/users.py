"""Users and KYC: who registers when, their tiers, countries, activity and churn dates; the
reference tables, the user and KYC versions, and the pre-window history.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from . import addresses
from .codes import (
    K_DEPOSIT,
    KYC_NOTES,
    KYC_STATUS,
    PUBLIC_OCTETS,
    USER_STATUS,
)
from .config import (
    COUNTRIES,
    COUNTRY_CODES,
    DAY,
    EMAIL_DOMAINS,
    ENTITY,
    FIRST_NAMES,
    HOUR,
    INF_TIME,
    LAST_NAMES,
    MIN,
    N_ASSETS,
    PAIRS,
    SEC,
    TIER_ACTIVITY,
    TIER_MAKER_WEIGHT,
    TIER_NOTIONAL,
    TIER_ORDERS,
    TIERS,
    UNIT,
    A,
)
from .ids import mix64
from .writer import Expr, Uuid, cat, nullable

# Share of users who churn on a random day, whatever they live through (a move, a life
# event); the rest of churn follows behaviour, day by day (churn.py).
BACKGROUND_CHURN_SHARE = 0.08


class Users:
    """Mixin of `Simulator` (engine.py): the user population and its versions."""

    # ------------------------------------------------------------------ users
    def setup_users(self) -> None:
        """The whole population, drawn once from the "users" stream in a fixed order."""
        rng = self.rng("users")
        self._registrations(rng)
        self._kyc_decisions(rng)
        self._activity_profiles(rng)
        churns, returns = self._churn_and_returns(rng)
        self._account_changes(rng, churns, returns)
        self._identities(rng)
        self._kyc_details(rng)
        n_users = self.n_users
        self.reserved = np.zeros(n_users, dtype=bool)  # planted users: scripted, never random
        self.last_login = np.full(n_users, -1, dtype=np.int64)
        # day of the last deposit made ahead of trading
        self.funded_day = np.full(n_users, -10, dtype=np.int64)
        self.bal = np.zeros(n_users * N_ASSETS, dtype=np.int64)

    def _registrations(self, rng) -> None:
        """Who registered when (30% before the window), their starting tier and country."""
        n_days = self.n_days
        n_users = self.scale.users
        n_pre = int(round(n_users * 0.3))
        self.n_users, self.n_pre_window_users = n_users, n_pre
        pre = self.start_us - rng.integers(2 * 86400, 365 * 86400, n_pre) * SEC
        day_weight = np.array([self.day_factor(d) for d in range(n_days)]) * (
            1 + 0.01 * np.arange(n_days)
        )
        if "registration_surge" in self.anomaly_days:
            day_weight[self.anomaly_days["registration_surge"]] *= 5.0
        reg_day = rng.choice(n_days, n_users - n_pre, p=day_weight / day_weight.sum())
        time_of_day = (rng.random(n_users - n_pre) * 86400).astype(np.int64) * SEC
        new = self.start_us + reg_day * DAY + time_of_day
        self.created = np.concatenate([np.sort(pre), np.sort(new)])
        self.is_pre = is_pre = np.arange(n_users) < n_pre
        self.tier0 = np.where(
            is_pre,
            rng.choice([1, 2, 3], n_users, p=[0.70, 0.22, 0.08]),
            rng.choice([1, 2, 3], n_users, p=[0.95, 0.04, 0.01]),
        ).astype(np.int64)
        country_weight = np.array([w for _, w in COUNTRIES], dtype=np.float64)
        self.country = rng.choice(
            len(COUNTRIES), n_users, p=country_weight / country_weight.sum()
        ).astype(np.int64)

    def _kyc_decisions(self, rng) -> None:
        """KYC submitted minutes after registration, decided hours later (kyc: 0 pending,
        1 approved, 2 rejected)."""
        n_users, is_pre = self.n_users, self.is_pre
        self.submit = self.created + rng.integers(120, 5400, n_users) * SEC
        delay = (
            np.clip(np.exp(rng.normal(np.log(4 * 3600), 1.1, n_users)), 600, 5 * 86400).astype(
                np.int64
            )
            * SEC
        )
        self.decision = self.submit + delay
        r = rng.random(n_users)
        self.kyc = np.where(
            is_pre,
            np.where(r < 0.92, 1, np.where(r < 0.95, 2, 0)),
            np.where(r < 0.85, 1, np.where(r < 0.90, 2, 0)),
        ).astype(np.int64)
        self.approved = np.where(self.kyc == 1, self.decision, INF_TIME)

    def _activity_profiles(self, rng) -> None:
        """How often each user trades, how many orders and how large, how often as a maker;
        who never trades, and the first day a user can."""
        n_users, tier0 = self.n_users, self.tier0
        appetite = np.exp(rng.normal(0.0, 0.45, n_users))
        tier_activity = np.vectorize(TIER_ACTIVITY.get)(tier0)
        self.p_act = np.clip(tier_activity * appetite, 0.02, 0.92)
        self.order_rate = (
            np.vectorize(TIER_ORDERS.get)(tier0)
            * np.exp(rng.normal(0, 0.3, n_users))
            * self.scale.order_mult
        )
        self.notional = np.minimum(
            np.vectorize(TIER_NOTIONAL.get)(tier0) * np.exp(rng.normal(0, 0.8, n_users)), 1e6
        )
        self.maker_w = np.vectorize(TIER_MAKER_WEIGHT.get)(tier0) * appetite
        self.never = rng.random(n_users) < np.where(self.is_pre, 0.12, 0.22)
        approval_day = np.where(
            self.approved < INF_TIME,
            self.day_of(np.minimum(self.approved, self.start_us + self.n_days * DAY) + 10 * MIN),
            self.n_days,
        )
        approval_day = np.maximum(approval_day, 0)
        self.first_day = approval_day + rng.geometric(0.5, n_users) - 1

    def _churn_and_returns(self, rng) -> tuple[np.ndarray, np.ndarray]:
        """Background churn (churn.py): a share of users stop trading on a random day, for no
        reason the data show; the ones who come back return after the scale's gap."""
        n_users = self.n_users
        churns = rng.random(n_users) < BACKGROUND_CHURN_SHARE
        self.churn_day = np.where(churns, rng.integers(1, max(2, self.n_days), n_users), 10**6)
        returns = rng.random(n_users) < 0.4
        gap = rng.integers(self.scale.gap_days[0], self.scale.gap_days[1] + 1, n_users)
        self.return_day = np.where(churns & returns, self.churn_day + gap, 10**6)
        # the same for the churners the daily hazard picks later (churn.py)
        self.comes_back, self.return_gap = returns, gap
        return churns, returns

    def _account_changes(self, rng, churns: np.ndarray, returns: np.ndarray) -> None:
        """Tier upgrades, suspensions and closures during the window (INF_TIME: none)."""
        n_users, kyc, tier0 = self.n_users, self.kyc, self.tier0
        window_end = self.start_us + self.n_days * DAY
        base_t = np.maximum(self.approved, self.start_us) + DAY
        span = np.maximum(window_end - base_t, 1)
        up = (rng.random(n_users) < 0.04) & (tier0 < 3) & (kyc == 1) & (base_t < window_end)
        self.upgrade_us = np.where(
            up, base_t + (rng.random(n_users) * span).astype(np.int64) // SEC * SEC, INF_TIME
        )
        self.tier1 = np.where(up, tier0 + 1, tier0)
        suspended = (rng.random(n_users) < 0.003) & (kyc == 1) & (base_t < window_end)
        self.suspend_us = np.where(
            suspended,
            base_t + (rng.random(n_users) * span).astype(np.int64) // SEC * SEC,
            INF_TIME,
        )
        close_t = (
            self.start_us
            + (self.churn_day + rng.integers(1, 4, n_users)) * DAY
            + rng.integers(0, 86400, n_users) * SEC
        )
        closes = (
            churns & ~returns & (rng.random(n_users) < 0.15) & (close_t < window_end) & (kyc == 1)
        )
        self.close_us = np.where(closes, close_t, INF_TIME)

    def _identities(self, rng) -> None:
        """Home addresses, devices, referral codes and referrers, names."""
        n_users = self.n_users
        h = mix64(np.arange(n_users, dtype=np.uint64) ^ np.uint64(self.salt))
        self.ip_kind = (rng.random(n_users) < 0.15).astype(np.int64)
        v4 = (PUBLIC_OCTETS[(h >> np.uint64(24)).astype(np.int64) % len(PUBLIC_OCTETS)] << 24) | (
            (h & np.uint64(0xFFFFFF)).astype(np.int64)
        )
        # carrier networks, households, IPv6 /64s (addresses.py)
        self.ip_val = addresses.home_addresses(h, self.ip_kind, self.country, v4)
        self.device = (mix64(h) >> np.uint64(2)).astype(np.int64)
        self.ref_hash = (mix64(h ^ np.uint64(77)) >> np.uint64(2)).astype(np.int64)
        referred = (~self.is_pre) & (rng.random(n_users) < 0.2)
        self.referred_by = np.where(
            referred, (rng.random(n_users) * np.arange(n_users)).astype(np.int64), -1
        )
        self.first_name = rng.integers(0, len(FIRST_NAMES), n_users)
        self.last_name = rng.integers(0, len(LAST_NAMES), n_users)
        self.domain = rng.integers(0, len(EMAIL_DOMAINS), n_users)

    def _kyc_details(self, rng) -> None:
        """KYC level, risk score and compliance note of each decision."""
        n_users, kyc = self.n_users, self.kyc
        self.kyc_level = np.where(
            kyc == 1,
            np.where((self.tier0 >= 2) | (rng.random(n_users) < 0.25), 2, 1),
            np.where(kyc == 2, (rng.random(n_users) < 0.5).astype(np.int64), 0),
        )
        self.risk = (np.round(rng.beta(2, 9, n_users) * 100).astype(np.int64)) * 1_000_000
        note_draw = rng.random(n_users)
        self.kyc_note = np.where(
            kyc == 2,
            np.where(note_draw < 0.5, 3, 4),
            np.where(
                note_draw < 0.08,
                0,
                np.where(note_draw < 0.12, 1, np.where(note_draw < 0.15, 2, -1)),
            ),
        )

    def tier_at(self, users: np.ndarray, t: np.ndarray) -> np.ndarray:
        return np.where(t >= self.upgrade_us[users], self.tier1[users], self.tier0[users])

    # ------------------------------------------------------------------ reference & history
    def write_reference(self) -> None:
        lab = self.label(-1)
        tiers = np.array(TIERS, dtype=object)
        self.writer.write(
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
        self.writer.write(
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
        n_users = self.n_users
        users = np.arange(n_users)
        decided = self.kyc != 0
        v_user = np.concatenate([users, users[decided]])
        v_time = np.concatenate([self.submit, self.decision[decided]])
        v_status = np.concatenate([np.zeros(n_users, np.int64), self.kyc[decided]])
        v_level = np.concatenate([np.zeros(n_users, np.int64), self.kyc_level[decided]])
        v_appr = np.concatenate(
            [
                np.full(n_users, -1, np.int64),
                np.where(self.kyc[decided] == 1, self.decision[decided], -1),
            ]
        )
        v_risk = np.concatenate([np.full(n_users, -1, np.int64), self.risk[decided]])
        v_note = np.concatenate([np.full(n_users, -1, np.int64), self.kyc_note[decided]])
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
        self.writer.write(
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
        n_users = self.n_users
        users = np.arange(n_users)
        ev_u, ev_t, ev_reg = [users], [self.created], [np.ones(n_users, bool)]
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
        self.writer.write(
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
