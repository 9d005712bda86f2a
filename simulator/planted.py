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

from .config import ASSETS, DAY, SEC, UNIT
from .planted_script import USDT, ScriptedUsers, hour_minute

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


class PlantedCases(ScriptedUsers):
    """The planted cases: the registry, the script's rows day by day, the labels file."""

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
    # ------------------------------------------------------------------ flows
    def history_deposits(self):
        sim = self.sim
        users, times, amounts = [], [], []
        for name, days_before, amount in self.history:
            users.append(self.u[name])
            times.append(sim.start_us - days_before * DAY + hour_minute(10))
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
            "t": np.array([self.sim.day_start(d) + hour_minute(2, 17)]),
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
