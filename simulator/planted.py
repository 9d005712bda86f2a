"""Planted cases: scripted users and events that the warehouse's rules and checks must find.

Compliance cases use reserved users (no background activity), so every rule the script trips is
known and listed: one row per (case, rule it fires) in `_simulator/planted_cases.csv`. Market
cases (candle mismatches, crossed or one-sided books, external price outliers), anomaly days and
faults (malformed rows, replays, late files) are labelled in the same file.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field

import numpy as np

from .config import ASSETS, COUNTRY_CODES, DAY, HOUR, INF_TIME, MIN, SEC, UNIT, A

COLUMNS = (
    "case_id",
    "kind",
    "rule",
    "user_id",
    "table_name",
    "reference_ids",
    "expected_severity",
    "description",
    "file_name",
    "row_number",
)

USDT = A["USDT"]
SHARED_IP = (185 << 24) | (220 << 16) | (101 << 8) | 47
KP_IP = (175 << 24) | (45 << 16) | (176 << 8) | 23
BURST_IP = (45 << 24) | (155 << 16) | (205 << 8) | 12
# The engine writes an IPv6 value v as 2a02:{v>>48}:{v>>32}:{v>>16}::{(v & 0xffff) + 1}.
RING_IPV6 = (0x1B << 48) | (0x4E0 << 32) | (0x77 << 16)


@dataclass
class Case:
    case_id: str
    kind: str
    rules: list  # (rule, expected_severity)
    users: list = field(default_factory=list)  # user indices (one row per user and rule)
    table: str = ""
    refs: list = field(default_factory=list)
    description: str = ""
    file_name: str = ""
    row_number: str = ""
    last_day: int = -1  # the case is complete once this day is written


def _hm(h: int, m: int = 0) -> int:
    return h * HOUR + m * MIN


class PlantedCases:
    def __init__(self, sim):
        self.sim = sim
        self.cases: dict[str, Case] = {}
        self.order: list[str] = []
        self.script: list[tuple] = []  # (day, time in day, user, kind, amount, case_id)
        self.login_script: list[
            tuple
        ] = []  # (day, time in day, user, type, ip kind, ip, country, case)
        self.ticket_script: list[tuple] = []
        self.tags: list[str] = []  # flow tag -> case id

    # ------------------------------------------------------------------ registry
    def add(
        self,
        case_id: str,
        kind: str,
        rules,
        table: str,
        description: str,
        users=(),
        refs=(),
        file_name: str = "",
        row_number="",
        last_day: int = -1,
    ) -> Case:
        c = Case(
            case_id,
            kind,
            list(rules),
            list(users),
            table,
            list(refs),
            description,
            file_name,
            str(row_number),
            last_day,
        )
        self.cases[case_id] = c
        self.order.append(case_id)
        return c

    def _tag(self, case_id: str) -> int:
        self.tags.append(case_id)
        return len(self.tags) - 1

    def write(self, path) -> int:
        sim = self.sim
        rows = []
        for cid in self.order:
            c = self.cases[cid]
            if c.last_day > sim.last_day:
                continue  # not complete in the days written (--until)
            users = c.users or [None]
            for user in users:
                for rule, severity in c.rules:
                    rows.append(
                        {
                            "case_id": c.case_id,
                            "kind": c.kind,
                            "rule": rule,
                            "user_id": user
                            if isinstance(user, str)
                            else (sim.uid("user", user) if user is not None else ""),
                            "table_name": c.table,
                            "reference_ids": ";".join(c.refs),
                            "expected_severity": severity,
                            "description": c.description,
                            "file_name": c.file_name,
                            "row_number": c.row_number,
                        }
                    )
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        return len(rows)

    # ------------------------------------------------------------------ set-up
    def setup_users(self) -> None:
        """Reserve and shape the scripted users; script their deposits, withdrawals, logins."""
        sim = self.sim
        D, fd, s0 = sim.n_days, sim.day_at_fraction, sim.start_us
        rng = sim.rng("planted")
        pre = np.flatnonzero(sim.is_pre)
        new = np.flatnonzero(~sim.is_pre)
        picks = rng.choice(pre, 9, replace=False)
        names = ["L1", "L2", "A1", "S1", "R1", "H1", "H2", "H3", "Z1"]
        self.u = dict(zip(names, (int(x) for x in picks), strict=True))
        n_day = min(fd(0.1), D - 3)
        cand = new[
            (sim.created[new] >= s0 + n_day * DAY) & (sim.created[new] < s0 + (n_day + 1) * DAY)
        ]
        self.u["N1"] = int(cand[0]) if cand.size else int(rng.choice(new))
        countries = {"H1": "IR", "H2": "VN", "H3": "DE"}
        for name, u in self.u.items():
            created = s0 - (300 if name == "Z1" else 120) * DAY + _hm(8)
            if name == "N1":
                created = s0 + n_day * DAY + _hm(9)
            sim.created[u] = created
            sim.submit[u] = created + 5 * MIN
            sim.decision[u] = created + 90 * MIN
            sim.approved[u] = created + 90 * MIN
            sim.kyc[u] = 1
            sim.kyc_level[u] = 1
            sim.kyc_note[u] = 5 if name in ("H1", "H2") else 0
            sim.risk[u] = (75 if name in ("H1", "H2") else 20) * 1_000_000
            sim.tier0[u] = sim.tier1[u] = 2 if name in ("L1", "L2") else 1
            sim.upgrade_us[u] = sim.suspend_us[u] = sim.close_us[u] = INF_TIME
            sim.never[u] = True
            sim.reserved[u] = True
            sim.referred_by[u] = -1
            if name in countries:
                sim.country[u] = COUNTRY_CODES.index(countries[name])

        self.history = [  # (user, days before the window, amount)
            ("L1", 40, 800),
            ("L2", 50, 4_000),
            ("L2", 45, 4_500),
            ("L2", 35, 4_800),
            ("A1", 20, 300),
            ("S1", 25, 500),
            ("R1", 30, 400),
            ("H1", 15, 600),
            ("H2", 12, 500),
            ("H3", 18, 700),
            ("Z1", 250, 800),
        ]
        r_day = min(fd(0.6), D - 2)
        z_day = fd(0.8)
        h3_day = fd(0.7)
        # (day, time of day, user, deposit(+)/withdrawal(-) in USDT, case)
        script = [
            (fd(0.2), _hm(10, 15), "L1", 15_000, "CMP-01"),
            (fd(0.4), _hm(15, 40), "L2", -12_000, "CMP-02"),
            (fd(0.3), _hm(9), "A1", 6_000, "CMP-03"),
            (fd(0.3), _hm(15, 30), "A1", 4_500, "CMP-03"),
            (fd(0.5), _hm(8), "S1", 9_000, "CMP-04"),
            (fd(0.5), _hm(13), "S1", 8_500, "CMP-04"),
            (fd(0.5), _hm(18, 30), "S1", 9_200, "CMP-04"),
            (r_day, _hm(21), "R1", 7_000, "CMP-05"),
            (r_day + 1, _hm(3), "R1", -6_800, "CMP-05"),
            (fd(0.35), _hm(11), "H1", 2_500, "CMP-06"),
            (fd(0.45), _hm(16, 20), "H2", 1_800, "CMP-07"),
            (h3_day, _hm(14), "H3", 3_000, "CMP-08"),
            (z_day, _hm(12), "Z1", 6_000, "CMP-09"),
            (n_day, _hm(12), "N1", 3_000, "CMP-10"),
            (n_day + 2, _hm(16), "N1", -2_800, "CMP-10"),
        ]
        U = self.u
        last = {}
        for day, _, _, _, cid in script:
            last[cid] = max(last.get(cid, -1), day)
        self.add(
            "CMP-01",
            "compliance",
            [("large_transaction", "high"), ("daily_aggregate", "medium")],
            "transactions",
            "one deposit of 15,000 USDT",
            [U["L1"]],
            last_day=last["CMP-01"],
        )
        self.add(
            "CMP-02",
            "compliance",
            [("large_transaction", "high"), ("daily_aggregate", "medium")],
            "transactions",
            "one withdrawal of 12,000 USDT from savings deposited over weeks",
            [U["L2"]],
            last_day=last["CMP-02"],
        )
        self.add(
            "CMP-03",
            "compliance",
            [("daily_aggregate", "medium")],
            "transactions",
            "deposits of 6,000 and 4,500 USDT on one day (10,500 in total)",
            [U["A1"]],
            last_day=last["CMP-03"],
        )
        self.add(
            "CMP-04",
            "compliance",
            [("structuring", "high"), ("daily_aggregate", "medium")],
            "transactions",
            "three deposits of 9,000, 8,500 and 9,200 USDT within 11 hours",
            [U["S1"]],
            last_day=last["CMP-04"],
        )
        self.add(
            "CMP-05",
            "compliance",
            [("rapid_in_out", "high")],
            "transactions",
            "deposit of 7,000 USDT at 21:00, withdrawal of 6,800 six hours later (next day), "
            "no trading",
            [U["R1"]],
            last_day=last["CMP-05"],
        )
        self.add(
            "CMP-06",
            "compliance",
            [("high_risk_country", "high")],
            "transactions",
            "deposit of 2,500 USDT by a user from IR (FATF black list)",
            [U["H1"]],
            last_day=last["CMP-06"],
        )
        self.add(
            "CMP-07",
            "compliance",
            [("high_risk_country", "medium")],
            "transactions",
            "deposit of 1,800 USDT by a user from VN (FATF grey list)",
            [U["H2"]],
            last_day=last["CMP-07"],
        )
        self.add(
            "CMP-08",
            "compliance",
            [("high_risk_country", "high")],
            "transactions",
            "user from DE logs in from KP at 10:00, deposits 3,000 USDT at 14:00 the same day",
            [U["H3"]],
            last_day=last["CMP-08"],
        )
        self.add(
            "CMP-09",
            "compliance",
            [("dormant_reactivation", "medium")],
            "transactions",
            "last transaction 250+ days before the window, then a deposit of 6,000 USDT",
            [U["Z1"]],
            last_day=last["CMP-09"],
        )
        self.add(
            "CMP-10",
            "compliance",
            [("new_account_drain", "high")],
            "transactions",
            "registers, deposits 3,000 USDT, withdraws 2,800 USDT two days later",
            [U["N1"]],
            last_day=last["CMP-10"],
        )
        self.script = [(day, tod, U[name], amount, cid) for day, tod, name, amount, cid in script]
        # logins before each scripted movement, and the scripted IP cases
        for day, tod, u, _, _ in self.script:
            country = int(sim.country[u])
            self.login_script.append(
                (day, tod - 20 * MIN, u, 0, int(sim.ip_kind[u]), int(sim.ip_val[u]), country, None)
            )
        self.login_script.append(
            (
                n_day,
                _hm(9, 2),
                U["N1"],
                0,
                int(sim.ip_kind[U["N1"]]),
                int(sim.ip_val[U["N1"]]),
                int(sim.country[U["N1"]]),
                None,
            )
        )
        self.login_script.append(
            (h3_day, _hm(10), U["H3"], 0, 0, KP_IP, COUNTRY_CODES.index("KP"), "CMP-08")
        )

        ordinary = np.flatnonzero(sim.is_pre & (sim.kyc == 1) & ~sim.reserved & (sim.approved < s0))
        shared = rng.choice(ordinary, 4, replace=False)
        s_day = fd(0.25)
        days = [min(s_day + k, D - 1) for k in range(4)]
        self.add(
            "CMP-11",
            "compliance",
            [("shared_ip", "medium")],
            "login_events",
            "four users log in from 185.220.101.47 on four consecutive days",
            [int(x) for x in shared],
            last_day=max(days),
        )
        for k, u in enumerate(shared):
            self.login_script.append(
                (days[k], _hm(19, 7 * k), int(u), 0, 0, SHARED_IP, int(sim.country[u]), "CMP-11")
            )
        burst_user = int(rng.choice(np.setdiff1d(ordinary, shared)))
        b_day = fd(0.55)
        self.burst = (b_day, burst_user)
        self.add(
            "CMP-12",
            "compliance",
            [("failed_login_burst", "medium")],
            "login_events",
            "six failed logins within about six minutes from 45.155.205.12",
            [burst_user],
            last_day=b_day,
        )
        for off in (0, 50, 115, 190, 260, 370):
            self.login_script.append(
                (
                    b_day,
                    _hm(2, 10) + off * SEC,
                    burst_user,
                    1,
                    0,
                    BURST_IP,
                    COUNTRY_CODES.index("NL"),
                    "CMP-12",
                )
            )
        self.self_day = fd(0.65)

        # churn-risk attention: more than 2 tickets in the last 30 days
        t_users = rng.choice(
            np.setdiff1d(ordinary, np.append(shared, burst_user)), 3, replace=False
        )
        window = [max(0, D - k) for k in (26, 17, 9, 3)]
        for i, u in enumerate(t_users):
            n = 3 + (i == 1)
            for j in range(n):
                self.ticket_script.append((window[j], _hm(9 + 2 * i + j), int(u), f"ANO-T{i + 1}"))
            self.add(
                f"ANO-T{i + 1}",
                "anomaly",
                [("support_tickets_attention", "")],
                "support_tickets",
                f"{n} support tickets in the last 30 days (churn-risk indicator: more than 2)",
                [int(u)],
                last_day=max(window[:n]),
            )

        for rule, day in sorted(sim.anomaly_days.items(), key=lambda kv: kv[1]):
            table = {
                "registration_surge": "users",
                "volume_spike": "trades",
                "revenue_drop": "fee_collections",
            }[rule]
            desc = {
                "registration_surge": "a marketing campaign: about five times the registrations",
                "volume_spike": "about three times the usual trading volume and fills",
                "revenue_drop": "matching-engine outage 06:00-15:00 UTC: few fills, fees; slow API",
            }[rule]
            self.add(
                f"ANO-{rule}",
                "anomaly",
                [(rule, "")],
                table,
                desc,
                refs=[sim.label(day)],
                last_day=day,
            )

        # A shared-device ring on IPv6: three users, three addresses of one /64 (temporary
        # addresses of one household's devices) within a week. One address for shared_ip.
        ring = rng.choice(
            np.setdiff1d(ordinary, np.concatenate([shared, [burst_user], t_users])),
            3,
            replace=False,
        )
        r_days = [min(fd(0.6) + k, D - 1) for k in (0, 3, 6)]
        self.add(
            "CMP-IP6",
            "compliance",
            [("shared_ip", "medium")],
            "login_events",
            "three users log in from three addresses of one IPv6 /64 (2a02:1b:4e0:77::/64) "
            "within a week",
            [int(x) for x in ring],
            last_day=max(r_days),
        )
        for k, u in enumerate(ring):
            self.login_script.append(
                (
                    r_days[k],
                    _hm(20, 11 * k),
                    int(u),
                    0,
                    1,
                    RING_IPV6 | (0x5EED + 7 * k),
                    int(sim.country[u]),
                    "CMP-IP6",
                )
            )

        self.market_days = {"candles": fd(0.4), "books": fd(0.5), "external": fd(0.6)}

    # ------------------------------------------------------------------ flows
    def history_deposits(self):
        sim = self.sim
        users, times, amounts = [], [], []
        for name, days_before, amount in self.history:
            users.append(self.u[name])
            times.append(sim.start_us - days_before * DAY + _hm(10))
            amounts.append(amount * UNIT)
        self._z1_history = len(users) - 1
        return (np.array(users, np.int64), np.array(times, np.int64), np.array(amounts, np.int64))

    def flows(self, d: int) -> list[dict]:
        sim = self.sim
        ds = sim.day_start(d)
        rows = [r for r in self.script if r[0] == d]
        if not rows:
            return []
        out = []
        for _, tod, u, amount, cid in rows:
            tag = self._tag(cid)
            if amount > 0:
                f = sim._flow([u], [USDT], [ds + tod], 0, [amount * UNIT])
                f["tag"] = np.array([tag])
                out.append(f)
            else:
                w = sim._flow([u, u], [USDT, USDT], [ds + tod, ds + tod], 3, [amount * UNIT, -UNIT])
                w["kind"] = np.array([3, 4], np.int64)
                w["partner"] = np.array(
                    [-1, 0], np.int64
                )  # relative: the fee points at the withdrawal
                w["tag"] = np.array([tag, -1])
                out.append(w)
        return out

    def record_flows(self, d: int, flows: dict) -> None:
        tagged = np.flatnonzero(flows["tag"] >= 0)
        for i in tagged:
            cid = self.tags[int(flows["tag"][i])]
            self.cases[cid].refs.append(self.sim.uid("transaction", int(flows["ctr"][i])))

    def record_history(self, flows: dict, ctr: np.ndarray) -> None:
        """Reference the dormant user's last transaction before the window."""
        sim = self.sim
        z = self.u["Z1"]
        idx = np.flatnonzero(flows["user"] == z)
        for i in idx:
            self.cases["CMP-09"].refs.append(sim.uid("transaction", int(ctr[i])))

    # ------------------------------------------------------------------ logins
    def logins(self, d: int) -> dict:
        sim = self.sim
        ds = sim.day_start(d)
        rows = [r for r in self.login_script if r[0] == d]
        cols = {
            "user": [],
            "t": [],
            "type": [],
            "ipk": [],
            "ipv": [],
            "country": [],
            "device": [],
            "tag": [],
        }
        for _, tod, u, typ, ipk, ipv, country, cid in rows:
            cols["user"].append(u)
            cols["t"].append(ds + max(tod, 0) // SEC * SEC)
            cols["type"].append(typ)
            cols["ipk"].append(ipk)
            cols["ipv"].append(ipv)
            cols["country"].append(country)
            cols["device"].append(int(sim.device[u]) if cid != "CMP-12" else 0x0BAD0BAD)
            cols["tag"].append(self._tag(cid) if cid else -1)
        return {k: np.array(v, dtype=np.int64) for k, v in cols.items()}

    def record_logins(self, d: int, logins: dict) -> None:
        for i in np.flatnonzero(logins["tag"] >= 0):
            cid = self.tags[int(logins["tag"][i])]
            self.cases[cid].refs.append(self.sim.uid("login", int(logins["ctr"][i])))

    def burst_security(self, d: int) -> dict:
        day, u = self.burst
        if d != day:
            z = np.zeros(0, np.int64)
            return {"user": z, "type": z, "sev": z, "risk": z, "t": z}
        return {
            "user": np.array([u]),
            "type": np.array([0]),
            "sev": np.array([2]),
            "risk": np.array([85]),
            "t": np.array([self.sim.day_start(d) + _hm(2, 17)]),
        }

    # ------------------------------------------------------------------ self trades
    def self_trade_matches(self, d: int, rng, taker_users, pairs, carried) -> np.ndarray:
        if d != self.self_day or taker_users.size < 6:
            return np.zeros(0, np.int64)
        cand = np.flatnonzero(~carried[:-1] & ~carried[1:])
        if cand.size < 2:
            return np.zeros(0, np.int64)
        picks = np.sort(rng.choice(cand, 2, replace=False))
        if picks[1] - picks[0] < 2:
            picks = picks[:1]
        return picks

    def record_self_trades(self, d: int, ranks: np.ndarray, trade_base: int, taker_users) -> None:
        for k, r in enumerate(np.sort(ranks)):
            self.add(
                f"CMP-13-{k + 1}",
                "compliance",
                [("self_trade", "high")],
                "trades",
                "a user's taker order matched the same user's resting order (both fills)",
                [int(taker_users[r])],
                [
                    self.sim.uid("trade", int(trade_base + 2 * r)),
                    self.sim.uid("trade", int(trade_base + 2 * r + 1)),
                ],
                last_day=d,
            )

    # ------------------------------------------------------------------ tickets
    def tickets(self, d: int):
        sim = self.sim
        rows = [r for r in self.ticket_script if r[0] == d]
        return (
            np.array([r[2] for r in rows], np.int64),
            np.array([sim.day_start(d) + r[1] for r in rows], np.int64),
        )

    def record_tickets(self, d: int, tk: dict) -> None:
        rows = [r for r in self.ticket_script if r[0] == d]
        for _, tod, u, cid in rows:
            t = self.sim.day_start(d) + tod
            hit = np.flatnonzero((tk["user"] == u) & (tk["created"] == t))
            for i in hit[:1]:
                self.cases[cid].refs.append(self.sim.uid("ticket", int(tk["ctr"][i])))

    # ------------------------------------------------------------------ market
    def candles(self, d: int, cols: dict) -> None:
        if d != self.market_days["candles"]:
            return
        sim = self.sim
        has = np.flatnonzero(cols["trade_count"] > 0)
        if has.size < 3:
            return
        rng = sim.rng("planted-candles", d)
        picks = np.sort(rng.choice(has, 3, replace=False))
        what = ["volume", "trade_count", "high_price"]
        for i, col in zip(picks, what, strict=True):
            before = int(cols[col][i])
            if col == "volume":
                cols[col][i] = before + max(before // 500, 1)
            elif col == "trade_count":
                cols[col][i] = before + 1
            else:
                cols[col][i] = before + max(before // 1000, 1)
            ref = f"{int(cols['pair_id'][i])}@{sim.iso(int(cols['timestamp'][i]))}"
            self.add(
                f"MKT-C{len([c for c in self.order if c.startswith('MKT-C')]) + 1}",
                "market",
                [("candle_mismatch", "")],
                "market_data_1h",
                f"{col} differs from the candle rebuilt from taker fills "
                f"({before} -> {int(cols[col][i])}, in 1e-8 units or a count)",
                refs=[ref],
                last_day=d,
            )

    def order_books(self, d: int, cols: dict, ctr, pair, ts) -> None:
        if d != self.market_days["books"]:
            return
        sim = self.sim
        rng = sim.rng("planted-books", d)
        picks = rng.choice(ctr.size, 4, replace=False)
        for k, i in enumerate(picks):
            if k < 2:
                cols["ask"][i] = max(cols["bid"][i] - (k + 1), 1)
                rule, desc = "crossed_book", "best ask at or below best bid"
            elif k == 2:
                cols["bid_null"][i] = True
                rule, desc = "missing_book_side", "no bids (bid side empty)"
            else:
                cols["ask_null"][i] = True
                rule, desc = "missing_book_side", "no asks (ask side empty)"
            self.add(
                f"MKT-B{k + 1}",
                "market",
                [(rule, "")],
                "order_book_snapshots",
                desc,
                refs=[sim.uid("snapshot", int(ctr[i]))],
                last_day=d,
            )

    def external_prices(self, d: int, cols: dict) -> None:
        if d != self.market_days["external"]:
            return
        sim = self.sim
        rng = sim.rng("planted-external", d)
        picks = rng.choice(cols["price"].size, 3, replace=False)
        for k, (i, factor) in enumerate(zip(picks, (1.05, 0.94, 1.07), strict=True)):
            cols["price"][i] *= factor
            src = ("coingecko", "coinmarketcap")[int(cols["source"][i])]
            ref = f"{src}|{ASSETS[int(cols['asset'][i])]}|{sim.iso(int(cols['t'][i]))}"
            self.add(
                f"MKT-E{k + 1}",
                "market",
                [("external_price_deviation", "")],
                "external_prices",
                f"external price off by {round((factor - 1) * 100)}% from the exchange",
                refs=[ref],
                last_day=d,
            )
