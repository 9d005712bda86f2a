"""Faults a real landing directory has: malformed rows, replayed rows and a late file.

Every faulty row is labelled in planted_cases.csv (file name and 1-based data row number for
malformed rows; ids for replays and late rows). Rows of a malformed file that are good are real
data moved out of that day's main file, so quarantining exactly the bad rows loses nothing; bad
rows carry fresh ids that nothing else references.
"""

from __future__ import annotations

import csv
import io
import json

import numpy as np

from .config import ENTITY
from .ids import uuid_str
from .writer import take_rows

BAD_COUNTER = 1 << 40  # counters of bad rows' ids: far from any real id

TRADES_BAD = [
    ("quantity", "abc", "wrong type: quantity is not a number"),
    ("side", "hold", "unknown enum value: side = hold"),
    ("executed_at", "2026-13-45T25:61:00", "unparseable timestamp: executed_at"),
    ("price", "-101.50000000", "negative price"),
    ("price", "0.00000000", "zero price"),
    ("user_id", None, "missing required field: user_id"),
    ("is_maker", "maybe", "wrong type: is_maker is not a boolean"),
]
TRANSACTIONS_BAD = [
    ("amount", "twelve", "wrong type: amount is not a number"),
    ("transaction_type", "airdrop", "unknown enum value: transaction_type = airdrop"),
    ("created_at", "yesterday", "unparseable timestamp: created_at"),
    ("user_id", None, "missing required field: user_id (key absent)"),
    ("status", "done", "unknown enum value: status = done"),
    ("balance_after", "null", "missing required field: balance_after (null)"),
]
ORDERS_BAD = [
    ("quantity", "-5.00000000", "negative quantity"),
    ("order_type", "iceberg", "unknown enum value: order_type = iceberg"),
    ("created_at", "31/10/2026 25:00", "unparseable timestamp: created_at"),
    ("pair_id", "BTCUSDT", "wrong type: pair_id is not an integer"),
    ("side", None, "missing required field: side"),
]
ID_COLUMN = {
    "trades": ("trade_id", "trade"),
    "transactions": ("transaction_id", "transaction"),
    "orders": ("order_id", "order"),
}


class FaultPlan:
    def __init__(self, sim):
        self.sim = sim
        self.on = bool(sim.faults)
        D = sim.n_days
        self.late_day = sim.day_at_fraction(0.3)
        self.late_write = min(D - 1, self.late_day + 2)
        self.bad_day = sim.day_at_fraction(0.45)
        self.replay_day = max(1, sim.day_at_fraction(0.6))
        if self.late_write == self.late_day:
            self.late_day = -10
        self.held = None
        self.replay_trades = None
        self.replay_tx = None
        self.bad_seq = 0

    # ------------------------------------------------------------------ orders
    def orders(self, d: int, o: dict) -> None:
        sim = self.sim
        cols = sim.order_columns(o)
        n = o["ctr"].size
        if self.on and d == self.bad_day and n >= 40:
            idx = np.arange(n // 2 - 10, n // 2 + 10)
            keep = np.setdiff1d(np.arange(n), idx)
            sim.writer.write("orders", sim.label(d), take_rows(cols, keep), d)
            self.malformed("orders", d, take_rows(cols, idx), "csv", ORDERS_BAD)
        else:
            sim.writer.write("orders", sim.label(d), cols, d)

    # ------------------------------------------------------------------ trades and fees
    def fees_and_trades(self, d: int, fc: dict, fills: dict) -> None:
        sim = self.sim
        F = fills["ctr"].size
        main_f = np.ones(F, bool)
        main_fc = np.ones(fc["ctr"].size, bool)
        if self.on and d == self.late_day and F >= 80:
            late = np.arange(F - 40, F)
            main_f[late] = False
            late_fc = np.isin(fc["src"], fills["ctr"][late])
            main_fc &= ~late_fc
            self.held = (
                {k: v[late] for k, v in fills.items()},
                {k: v[late_fc] for k, v in fc.items()},
            )
        if self.on and d == self.bad_day and F >= 40:
            # up to 30 fills of the day go to the malformed file (a quarter on a quiet day)
            bad = np.arange(F // 2 - min(30, F // 4), F // 2)
            main_f[bad] = False
            self.malformed(
                "trades",
                d,
                sim.trade_columns({k: v[bad] for k, v in fills.items()}),
                "csv",
                TRADES_BAD,
            )
        if self.on and d == self.replay_day - 1 and F >= 40:
            pick = np.flatnonzero(main_f)[np.linspace(0, main_f.sum() - 1, 10).astype(np.int64)]
            self.replay_trades = {k: v[pick] for k, v in fills.items()}
        sim.writer.write(
            "trades", sim.label(d), sim.trade_columns({k: v[main_f] for k, v in fills.items()}), d
        )
        sim.writer.write(
            "fee_collections",
            sim.label(d),
            sim.fee_columns({k: v[main_fc] for k, v in fc.items()}),
            d,
        )
        if self.on and d == self.replay_day and self.replay_trades is not None:
            name, _ = sim.writer.write(
                "trades", sim.label(d), sim.trade_columns(self.replay_trades), d, suffix="_replay"
            )
            sim.cases.add(
                "FLT-REPLAY-trades",
                "fault",
                [("replayed_rows", "")],
                "trades",
                f"{self.replay_trades['ctr'].size} fills of {sim.label(d - 1)} repeated exactly",
                refs=[sim.uid("trade", int(c)) for c in self.replay_trades["ctr"]],
                file_name=name,
                last_day=d,
            )
        if self.on and d == self.late_write and self.held is not None:
            f, c = self.held
            name_t, _ = sim.writer.write(
                "trades", sim.label(d), sim.trade_columns(f), d, suffix="_late"
            )
            name_f, _ = sim.writer.write(
                "fee_collections", sim.label(d), sim.fee_columns(c), d, suffix="_late"
            )
            late_date = sim.label(self.late_day)
            sim.cases.add(
                "FLT-LATE-trades",
                "fault",
                [("late_file", "")],
                "trades",
                f"the last {f['ctr'].size} fills of {late_date} arrive in a file of {sim.label(d)}",
                refs=[sim.uid("trade", int(x)) for x in f["ctr"]],
                file_name=name_t,
                last_day=d,
            )
            sim.cases.add(
                "FLT-LATE-fee_collections",
                "fault",
                [("late_file", "")],
                "fee_collections",
                f"the trading fees of those {f['ctr'].size} fills of {late_date} arrive late too",
                refs=[sim.uid("fee", int(x)) for x in c["ctr"]],
                file_name=name_f,
                last_day=d,
            )
            self.held = None

    # ------------------------------------------------------------------ transactions
    def transactions(self, d: int, cols: dict) -> None:
        sim = self.sim
        n = len(np.asarray(cols["amount"]))
        main = np.ones(n, bool)
        if self.on and d == self.bad_day and n >= 100:
            bad = np.arange(n // 2, n // 2 + 30)
            main[bad] = False
            self.malformed("transactions", d, take_rows(cols, bad), "jsonl", TRANSACTIONS_BAD)
        if self.on and d == self.replay_day - 1 and n >= 40:
            pick = np.flatnonzero(main)[np.linspace(0, main.sum() - 1, 10).astype(np.int64)]
            self.replay_tx = (
                take_rows(cols, pick),
                np.asarray(cols["transaction_id"].counter)[pick],
            )
        sim.writer.write(
            "transactions",
            sim.label(d),
            take_rows(cols, np.flatnonzero(main)) if not main.all() else cols,
            d,
        )
        if self.on and d == self.replay_day and self.replay_tx is not None:
            rows, ctrs = self.replay_tx
            # rendered as on the day they were first written, so every line is byte-identical
            name, _ = sim.writer.write("transactions", sim.label(d), rows, d - 1, suffix="_replay")
            sim.cases.add(
                "FLT-REPLAY-transactions",
                "fault",
                [("replayed_rows", "")],
                "transactions",
                f"{ctrs.size} transactions of {sim.label(d - 1)} repeated exactly",
                refs=[sim.uid("transaction", int(c)) for c in ctrs],
                file_name=name,
                last_day=d,
            )

    # ------------------------------------------------------------------ malformed files
    def malformed(self, table: str, d: int, good: dict, fmt: str, corruptions: list) -> None:
        sim = self.sim
        lines = sim.writer.render_lines(table, good, fmt, d)
        id_col, entity = ID_COLUMN[table]
        if fmt == "csv":
            header, body = lines[0], lines[1:]
            names = next(csv.reader([header]))
            template = dict(zip(names, next(csv.reader([body[0]])), strict=True))
        else:
            header, body = None, lines
            template = json.loads(body[0])
        bad_lines = []
        for col, value, reason in corruptions:
            row = dict(template)
            self.bad_seq += 1
            row[id_col] = uuid_str(BAD_COUNTER + self.bad_seq, ENTITY[entity], sim.salt)
            if fmt == "csv":
                row[col] = "" if value is None else value
                buf = io.StringIO()
                csv.writer(buf, lineterminator="").writerow([row[c] for c in names])
                text = buf.getvalue()
            else:
                if value is None:
                    row.pop(col)
                else:
                    row[col] = None if value == "null" else value
                text = json.dumps(row, separators=(",", ":"), ensure_ascii=False)
            bad_lines.append((row, text, col, value, reason))
        # interleave: a bad row after every few good ones
        out, positions = [], []
        gi = 0
        step = max(1, len(body) // (len(bad_lines) + 1))
        for k, item in enumerate(bad_lines):
            take = step if k else min(2, len(body))
            out.extend(body[gi : gi + take])
            gi += take
            out.append(item[1])
            positions.append(len(out))  # 1-based data row number
        out.extend(body[gi:])
        name = f"{table}_{sim.label(d)}_part2.{fmt}"
        sim.writer.write_text(table, name, ([header] if header else []) + out, rows=len(out))
        for k, ((row, _, col, value, reason), pos) in enumerate(
            zip(bad_lines, positions, strict=True)
        ):
            user = row.get("user_id") or ""
            sim.cases.add(
                f"FLT-MAL-{table}-{k + 1}",
                "fault",
                [("malformed_row", "")],
                table,
                f"{reason} ({col} = {'<absent>' if value is None else value})",
                users=[user] if user else [],
                refs=[row[id_col]],
                file_name=name,
                row_number=pos,
                last_day=d,
            )
