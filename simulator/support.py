"""Support and operations: support tickets and the platform's system metrics."""

from __future__ import annotations

import numpy as np

from .churn import NO_CHURN
from .codes import (
    CHURN_DECLINE_DAYS,
    CHURN_DECLINE_TICKET_RATE,
    METRIC_TYPES,
    TICKET_STATUS,
)
from .config import (
    DAY,
    ENTITY,
    HOUR,
    HOUR_WEIGHTS,
    MIN,
    SEC,
    TICKET_CATEGORIES,
)
from .writer import Uuid, cat, nullable


class Support:
    """Mixin of `Simulator` (engine.py): support tickets and system metrics."""

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
        # churn.py: tickets filed, and when each is solved or closed (never: 8%)
        self.observe_tickets(d, tk["user"], np.where(final, self.day_of(res_t), NO_CHURN))
        # a ticket's pending and final versions may fall on one day: the sort below orders them
        tk = self.with_deferred("support_tickets", d, tk)
        order = np.lexsort(
            (tk["status"], tk["ctr"], np.where(tk["resolved"] >= 0, tk["resolved"], tk["created"]))
        )
        tk = {k: v[order] for k, v in tk.items()}
        self.writer.write(
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
        self.writer.write(
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
