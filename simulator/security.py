"""Security and compliance: login events, security events and the exchange's own compliance
alerts.
"""

from __future__ import annotations

import numpy as np

from . import addresses
from .codes import (
    ALERT_TYPES,
    C_IR,
    C_KP,
    C_VN,
    DISPOSITIONS,
    IP_SQL,
    K_DEPOSIT,
    K_WITHDRAWAL,
    LOGIN_TYPES,
    PUBLIC_OCTETS,
    SECURITY_EVENT_TYPES,
    SEVERITIES,
    ST_COMPLETED,
)
from .config import (
    COUNTRIES,
    COUNTRY_CODES,
    DAY,
    ENTITY,
    HOUR,
    MIN,
    SEC,
)
from .writer import Expr, Uuid, cat


class Security:
    """Mixin of `Simulator` (engine.py): logins, security events, compliance alerts."""

    # ------------------------------------------------------------------ logins
    def logins(self, d: int, rng, active: np.ndarray, trading: dict) -> dict:
        ds, de = self.day_start(d), self.day_start(d) + DAY
        first = np.full(self.n_users, de, np.int64)
        np.minimum.at(first, trading["taker_user"], trading["taker_placed_at"])
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
        day_logins = {k: np.concatenate(v).astype(np.int64) for k, v in rows.items()}
        o = np.lexsort((day_logins["type"], day_logins["user"], day_logins["t"]))
        day_logins = {k: v[o] for k, v in day_logins.items()}
        day_logins["ctr"] = self.take("login", day_logins["t"].size)
        self.cases.record_logins(d, day_logins)
        succ = day_logins["type"] == 0
        np.maximum.at(self.last_login, day_logins["user"][succ], day_logins["t"][succ])
        self.writer.write(
            "login_events",
            self.label(d),
            {
                "event_id": Uuid(day_logins["ctr"], ENTITY["login"]),
                "user_id": Uuid(day_logins["user"], ENTITY["user"]),
                "event_type": cat(day_logins["type"], LOGIN_TYPES),
                "ip_address": Expr(IP_SQL, {"k": day_logins["ipk"], "v": day_logins["ipv"]}),
                "country_code": cat(day_logins["country"], COUNTRY_CODES),
                "device_id": Expr(
                    "printf('dev-%012x', {h} & 281474976710655)", {"h": day_logins["device"]}
                ),
                "occurred_at": day_logins["t"],
            },
            d,
        )
        return day_logins

    # ------------------------------------------------------------------ security & compliance
    def security_and_compliance(self, d: int, rng, day_logins: dict, day_flows: dict) -> None:
        """The day's security events, then its compliance alerts (one stream, in that order)."""
        self._security_events(d, rng, day_logins, day_flows)
        self._compliance_alerts(d, rng, day_flows)

    def _security_events(self, d: int, rng, day_logins: dict, day_flows: dict) -> None:
        """Failed logins flagged, planted bursts, suspicious activity, large withdrawals;
        70% resolved within three days (a later version)."""
        ds, de = self.day_start(d), self.day_start(d) + DAY
        failed = np.flatnonzero(day_logins["type"] == 1)
        pick = failed[rng.random(failed.size) < 0.1]
        burst = self.cases.burst_security(d)
        sus_n = rng.poisson(1 + self.n_users / 5000)
        suspicious_user = rng.integers(0, self.n_users, sus_n)
        suspicious_user = suspicious_user[self.created[suspicious_user] < de - HOUR]
        s_t = self.times(rng, d, np.maximum(ds, self.created[suspicious_user] + HOUR), de - SEC)
        comp = day_flows["status"] == ST_COMPLETED
        wd = np.flatnonzero(comp & (day_flows["kind"] == K_WITHDRAWAL))
        w_usd = -self.usd_value(
            day_flows["asset"][wd], day_flows["amt"][wd], day_flows["t_adj"][wd]
        )
        big = wd[w_usd >= 4000]
        big_usd = w_usd[w_usd >= 4000]
        ev = {
            "user": np.concatenate(
                [day_logins["user"][pick], burst["user"], suspicious_user, day_flows["user"][big]]
            ),
            "type": np.concatenate(
                [
                    np.zeros(pick.size, np.int64),
                    burst["type"],
                    np.ones(suspicious_user.size, np.int64),
                    np.full(big.size, 2, np.int64),
                ]
            ),
            "sev": np.concatenate(
                [
                    np.zeros(pick.size, np.int64),
                    burst["sev"],
                    rng.integers(0, 2, suspicious_user.size),
                    np.where(big_usd >= 10_000, 2, 1),
                ]
            ),
            "risk": np.concatenate(
                [
                    rng.integers(10, 40, pick.size),
                    burst["risk"],
                    rng.integers(30, 90, suspicious_user.size),
                    rng.integers(40, 80, big.size),
                ]
            )
            * 1_000_000,
            "t": np.concatenate(
                [
                    day_logins["t"][pick] + rng.integers(1, 60, pick.size) * SEC,
                    burst["t"],
                    s_t,
                    day_flows["t_adj"][big] // SEC * SEC + rng.integers(5, 300, big.size) * SEC,
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
        self.writer.write(
            "security_events",
            self.label(d),
            {
                "event_id": Uuid(ev["ctr"], ENTITY["security"]),
                "user_id": Uuid(ev["user"], ENTITY["user"]),
                "event_type": cat(ev["type"], SECURITY_EVENT_TYPES),
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

    def _compliance_alerts(self, d: int, rng, day_flows: dict) -> None:
        """Alerts from the exchange's existing monitoring: large transactions, unusual
        patterns, high-risk countries; 75% investigated within five days (a later version)."""
        de = self.day_start(d) + DAY
        comp = day_flows["status"] == ST_COMPLETED
        dw = np.flatnonzero(
            comp & ((day_flows["kind"] == K_DEPOSIT) | (day_flows["kind"] == K_WITHDRAWAL))
        )
        usd = np.abs(
            self.usd_value(day_flows["asset"][dw], day_flows["amt"][dw], day_flows["t_adj"][dw])
        )
        large = dw[usd >= 10_000]
        risky_country = np.isin(self.country[day_flows["user"][dw]], [C_IR, C_KP, C_VN])
        hrc = dw[(usd >= 1_000) & risky_country]
        n_unusual = min(rng.poisson(0.5 + self.n_users / 10_000), dw.size)
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
            "user": day_flows["user"][rows],
            "tx": day_flows["ctr"][rows],
            "type": atype,
            "amount": np.abs(day_flows["amt"][rows]),
            "t": np.minimum(
                day_flows["t_adj"][rows] // SEC * SEC + rng.integers(60, 1800, rows.size) * SEC,
                de - SEC,
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
        self.writer.write(
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
