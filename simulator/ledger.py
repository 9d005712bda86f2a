"""The ledger: every balance movement (trade legs, fees, deposits, withdrawals) chained per
wallet into `transactions`, end-of-day `wallets`, and `fee_collections`.
"""

from __future__ import annotations

import numpy as np

from . import balance_chains
from .codes import (
    K_DEPOSIT,
    K_FEE,
    K_TRADE,
    K_WITHDRAWAL,
    K_WITHDRAWAL_FEE,
    NICE_UNITS,
    PAIR_BASE,
    PAIR_QTY_UNIT,
    PAIR_QUOTE,
    ST_COMPLETED,
    ST_FAILED,
    ST_PENDING,
    TIED_FEE_ID_FIRST_SHARE,
    TIED_FEE_SHARE,
    TX_STATUS,
    TX_TYPE_CODE,
    TX_TYPE_NAMES,
    WITHDRAWAL_FEE_UNITS,
    draw_pairs,
    typed_flows,
)
from .config import (
    ASSETS,
    DAY,
    ENTITY,
    HOUR,
    MIN,
    N_ASSETS,
    SEC,
    UNIT,
    WHALE_NOTIONAL_USD,
    A,
)
from .writer import Uuid, cat


class Ledger:
    """Mixin of `Simulator` (engine.py): flows, balance chains and the files they make."""

    # ------------------------------------------------------------------ the ledger
    def post_ledger(self, d: int, f: dict, strict: bool = True) -> dict:
        """Chain the day's flows per wallet, write transactions and wallets, update balances.

        Returns per original flow row: transaction counter and adjusted time."""
        # A large day has tens of millions of flows: each temporary array below is hundreds of
        # MB, so each is freed as soon as it is used (peak memory, docs/reliability.md, "Scale
        # and speed").
        key = f["user"] * N_ASSETS + f["asset"]
        o = np.lexsort((f["tie"], f["kind"], f["t"], key))
        key_s = key[o]
        del key
        seg, starts = balance_chains.segments(key_s)
        t = f["t"][o]
        tied = np.zeros(0, np.int64)
        if strict and t.size:
            t = balance_chains.strictly_increasing(t, seg, starts, self.day_start(d))
            tied = self._tie_fees_to_trade_legs(d, f, o, key_s, t)
        completed = f["status"][o] == ST_COMPLETED
        moves = np.where(completed, f["amt"][o], 0)
        opening = self.bal[key_s[starts]]
        after = balance_chains.running(opening, moves, seg, starts)
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
        self.writer.write(
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
        seg, starts = balance_chains.segments(key_s)
        moves = np.where(f["status"][o] == ST_COMPLETED, f["amt"][o], 0)
        run = balance_chains.running(self.bal[key_s[starts]], moves, seg, starts)
        asset_s = key_s % N_ASSETS
        nice = NICE_UNITS[asset_s]
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

    # ------------------------------------------------------------------ balances
    def flows(self, d: int, rng, trading: dict, lower: np.ndarray) -> dict:
        """Every balance movement of day d, chained and written (`post_ledger`): the fills'
        legs and fees, deposits ahead of trading, planted flows, top-ups that keep balances
        non-negative, and withdrawals; then the day's fee collections. Returns the flows."""
        fills = trading["fills"]
        parts = self._fill_legs(fills)
        parts.extend(self._deposits_ahead_of_trading(d, rng))
        parts.extend(self._inventory_deposits(d, rng, trading["active"], lower))
        parts.extend(typed_flows(p) for p in self.cases.flows(d))
        offset = 0
        for part in parts:  # partner indices are relative to their part
            part["partner"] = np.where(part["partner"] >= 0, part["partner"] + offset, -1)
            offset += part["user"].size
        # column by column, each part's column freed once copied: never two whole copies
        day_flows = {k: np.concatenate([p.pop(k) for p in parts]) for k in list(parts[0])}
        del parts
        # fund what would go negative
        tops = self.topups(d, rng, day_flows, np.maximum(self.approved + MIN, self.created + MIN))
        self.funded_day[tops["user"]] = d
        for k in day_flows:
            day_flows[k] = np.concatenate([day_flows[k], tops.pop(k)])
        del tops
        self._withdrawals(d, rng, day_flows)
        res = self.post_ledger(d, day_flows)
        day_flows["ctr"] = res["ctr"]
        day_flows["t_adj"] = res["t"]
        self.cases.record_flows(d, day_flows)
        self._write_fee_collections(d, fills, day_flows)
        return day_flows

    def _fill_legs(self, fills: dict) -> list[dict]:
        """Per fill: the base-asset leg, the quote-asset leg and the fee (in the quote asset)."""
        buy = fills["sell"] == 0
        base = PAIR_BASE[fills["pair"]]
        quote = PAIR_QUOTE[fills["pair"]]
        qty_units = fills["qty"] * PAIR_QTY_UNIT[fills["pair"]]
        trade = {"ref": fills["ctr"], "ref_entity": ENTITY["trade"], "tie": fills["ctr"]}
        user, t = fills["user"], fills["t"]
        return [
            self._flow(user, base, t, K_TRADE, np.where(buy, qty_units, -qty_units), **trade),
            self._flow(
                user,
                quote,
                t,
                K_TRADE,
                np.where(buy, -fills["notional"], fills["notional"]),
                **trade,
            ),
            self._flow(user, quote, t, K_FEE, -fills["fee"], **trade),
        ]

    def _deposits_ahead_of_trading(self, d: int, rng) -> list[dict]:
        """Deposits without a trade in sight (funding the account ahead of time)."""
        ds, de = self.day_start(d), self.day_start(d) + DAY
        candidates = np.flatnonzero(
            (self.kyc == 1)
            & (self.approved < de - HOUR)
            & ~self.reserved
            & (self.suspend_us >= de)
            & (self.close_us >= de)
        )
        n = rng.binomial(candidates.size, 0.012) if candidates.size else 0
        if not n:
            return []
        user = rng.choice(candidates, n, replace=False)
        asset = np.where(rng.random(n) < 0.8, A["USDT"], rng.choice(PAIR_BASE, n))
        t = self.times(rng, d, np.maximum(self.approved[user] + 5 * MIN, ds), de - HOUR)
        usd = np.clip(np.exp(rng.normal(np.log(300), 0.9, n)), 20, 4800)
        px = self.usd_px[asset, self.minute(t)]
        nice = NICE_UNITS[asset]
        amount = np.maximum((np.floor(usd / px * UNIT / nice) * nice).astype(np.int64), nice)
        self.funded_day[user] = d
        return [self._flow(user, asset, t, K_DEPOSIT, amount)]

    def _inventory_deposits(self, d: int, rng, active: np.ndarray, lower: np.ndarray) -> list[dict]:
        """Whales fund ahead: an active user whose usual order is $10,000 or more
        (`WHALE_NOTIONAL_USD`) and who holds less than four such orders (coins and USDT
        together) deposits about fifteen orders' worth before trading, on a quarter of such
        days: USDT or, as often, one coin (the majors mostly). Trading then swaps between the
        two without new money. These inventories are the deep books that fill large orders
        (trading.py, `MakerPool`); every such deposit is a large transaction (docs/aml_rules.md)."""
        whale = active[(self.notional[active] >= WHALE_NOTIONAL_USD) & ~self.reserved[active]]
        if not whale.size:
            return []
        px0 = self.usd_px[:, int(self.minute(self.day_start(d)))]
        held_usd = (self.bal.reshape(-1, N_ASSETS)[whale] / UNIT * px0).sum(axis=1)
        user = whale[(held_usd < 4.0 * self.notional[whale]) & (rng.random(whale.size) < 0.25)]
        n = user.size
        if not n:
            return []
        pair = draw_pairs(rng, self.tier_at(user, np.full(n, self.day_start(d))))
        asset = np.where(rng.random(n) < 0.5, PAIR_BASE[pair], A["USDT"])
        # at the user's earliest trading time, before the first order (a minute later)
        t = lower[user] + rng.integers(1, 40, n) * SEC
        usd = np.minimum(self.notional[user] * np.exp(rng.normal(np.log(15.0), 0.5, n)), 5e6)
        px = self.usd_px[asset, self.minute(t)]
        nice = NICE_UNITS[asset]
        amount = np.maximum((np.floor(usd / px * UNIT / nice) * nice).astype(np.int64), nice)
        self.funded_day[user] = d
        return [self._flow(user, asset, t, K_DEPOSIT, amount)]

    def _withdrawals(self, d: int, rng, day_flows: dict) -> None:
        """Withdrawals (and their fees), appended to `day_flows`: a share of what a wallet
        holds at the end of the day, after the day's other flows of that wallet; 2% fail."""
        ds, de = self.day_start(d), self.day_start(d) + DAY
        # end-of-day balances before withdrawals
        key = day_flows["user"] * N_ASSETS + day_flows["asset"]
        moves = np.where(day_flows["status"] == ST_COMPLETED, day_flows["amt"], 0)
        end = self.bal.copy()
        np.add.at(end, key, moves)
        by_wallet = np.lexsort((day_flows["t"], key))
        _, wallet_starts = balance_chains.segments(key[by_wallet])
        moved_keys = key[by_wallet][wallet_starts]
        last_move = (
            day_flows["t"][by_wallet][np.append(wallet_starts[1:], by_wallet.size) - 1]
            if by_wallet.size
            else np.zeros(0, np.int64)
        )
        wallet = np.flatnonzero(end > 0)
        wallet = wallet[~self.reserved[wallet // N_ASSETS]]
        user, asset = wallet // N_ASSETS, wallet % N_ASSETS
        px0 = self.usd_px[asset, self.minute(np.full(wallet.size, ds))]
        usd = end[wallet] * px0 / UNIT
        touched = np.isin(wallet, moved_keys)
        young = self.created[user] > ds - 30 * DAY
        prob = np.where(touched, 0.035, 0.006) * (usd >= 25) * np.where(young, 0.3, 1.0)
        prob *= (self.suspend_us[user] >= de) & (self.close_us[user] >= de)
        # nobody cashes out within a day of funding the account without trading
        prob *= self.funded_day[user] < d - 1
        pick = rng.random(wallet.size) < prob
        wallet, user, asset, px0, touched = (
            wallet[pick],
            user[pick],
            asset[pick],
            px0[pick],
            touched[pick],
        )
        fraction = np.where(
            self.created[user] > ds - 30 * DAY,
            rng.uniform(0.1, 0.35, wallet.size),
            rng.uniform(0.2, 0.8, wallet.size),
        )
        want = np.minimum(
            end[wallet] * fraction, (4500.0 / px0) * UNIT * rng.uniform(0.3, 1.0, wallet.size)
        )
        amount = (np.floor(want / NICE_UNITS[asset]) * NICE_UNITS[asset]).astype(np.int64)
        amount = np.minimum(amount, end[wallet] - WITHDRAWAL_FEE_UNITS[asset])
        ok = amount > 0
        wallet, user, asset, amount, touched = (
            wallet[ok],
            user[ok],
            asset[ok],
            amount[ok],
            touched[ok],
        )
        if not wallet.size:
            return
        pos = np.searchsorted(moved_keys, wallet)
        last = (
            np.where(touched, last_move[np.minimum(pos, max(moved_keys.size - 1, 0))], 0)
            if moved_keys.size
            else np.zeros(wallet.size, np.int64)
        )
        lo = np.maximum(np.maximum(last + MIN, ds + MIN), self.approved[user] + MIN)
        lo = np.minimum(lo, de - 3 * SEC)
        t = lo + (rng.random(wallet.size) * (de - 2 * SEC - lo)).astype(np.int64)
        status = np.where(rng.random(wallet.size) < 0.02, ST_FAILED, ST_COMPLETED)
        if d == self.n_days - 1:
            status = np.where(
                (t > de - 3 * HOUR) & (rng.random(wallet.size) < 0.5), ST_PENDING, status
            )
        self.observe_withdrawals(user[status == ST_FAILED])  # churn.py
        n_before = day_flows["user"].size
        withdrawal = self._flow(user, asset, t, K_WITHDRAWAL, -amount, status)
        completed = status == ST_COMPLETED
        fee = self._flow(
            user[completed],
            asset[completed],
            t[completed],
            K_WITHDRAWAL_FEE,
            -WITHDRAWAL_FEE_UNITS[asset[completed]],
        )
        fee["partner"] = (n_before + np.flatnonzero(completed)).astype(np.int32)
        for k in day_flows:
            day_flows[k] = np.concatenate([day_flows[k], withdrawal.pop(k), fee.pop(k)])

    def _write_fee_collections(self, d: int, fills: dict, day_flows: dict) -> None:
        """Fee collections: trading fees (one per fill, at executed_at) and withdrawal fees."""
        n_fills = fills["ctr"].size
        wf = np.flatnonzero(day_flows["kind"] == K_WITHDRAWAL_FEE)
        fc = {
            "user": np.concatenate([fills["user"], day_flows["user"][wf]]),
            "type": np.concatenate([np.zeros(n_fills, np.int64), np.ones(wf.size, np.int64)]),
            "amount": np.concatenate([fills["fee"], -day_flows["amt"][wf]]),
            "asset": np.concatenate([PAIR_QUOTE[fills["pair"]], day_flows["asset"][wf]]),
            "pair": np.concatenate([fills["pair"], np.full(wf.size, -1, np.int64)]),
            "t": np.concatenate([fills["t"], day_flows["t_adj"][wf]]),
            "src": np.concatenate([fills["ctr"], np.full(wf.size, -1, np.int64)]),
        }
        by_time = np.lexsort((fc["src"], fc["t"]))
        fc = {k: v[by_time] for k, v in fc.items()}
        fc["ctr"] = self.take("fee", fc["t"].size)
        self.faults_plan.fees_and_trades(d, fc, fills)

    def _flow(self, user, asset, t, kind, amt, status=None, ref=None, ref_entity=-1, tie=0):
        n = np.asarray(user).size
        return typed_flows(
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
