"""Orders: every version of the day's orders (filled, partial, cancelled, resting overnight),
and the column mappings of orders, trades and fee collections to the landing contract.

An order gets one row per version: a partial fill may be cancelled later the same day or on a
later day (`defer`), and a few resting orders placed late in the day fill tomorrow.
"""

from __future__ import annotations

import numpy as np

from .codes import (
    N_PAIRS,
    ORDER_STATUS,
    ORDER_TYPES,
    OS_CANCELLED,
    OS_FILLED,
    OS_PARTIAL,
    OS_PENDING,
    PAIR_BASE,
    PAIR_ID,
    PAIR_PRICE_DECIMALS,
    PAIR_PRICE_UNIT,
    PAIR_QTY_DECIMALS,
    PAIR_QTY_UNIT,
    PAIR_QUOTE,
    PAIR_WEIGHT,
    SIDES,
)
from .config import ASSETS, DAY, ENTITY, HOUR, INF_TIME, MIN, N_ASSETS, UNIT
from .writer import Uuid, cat, nullable


class Orders:
    """Mixin of `Simulator` (engine.py): the day's order versions and column mappings."""

    def write_orders(self, day) -> None:
        """Write the orders of a trading day (`trading.TradingDay`): takers, makers, carried
        orders, orders that never fill, and resting orders for tomorrow; sets the order
        counters of each match (taker_order_of_match, maker_order_of_match)."""
        self._filled_order_fields(day)
        orders = [self._taker_order_versions(day), self._maker_order_versions(day)]
        orders.extend(self._carried_order_versions(day))
        orders.extend(self._unfilled_orders(day))
        orders.extend(self._resting_orders_for_tomorrow(day))
        later = self.pop_deferred("orders", day.d)
        if later is not None:
            orders.append(later)
        all_orders = {k: np.concatenate([o[k] for o in orders]) for k in orders[0]}
        by_update = np.lexsort((all_orders["ctr"], all_orders["updated"]))
        all_orders = {k: v[by_update] for k, v in all_orders.items()}
        self.faults_plan.orders(day.d, all_orders)

    def _filled_order_fields(self, day) -> None:
        """Counters, limit prices, quantities and times of the orders that fill today."""
        rng, match, taker, maker = day.rng, day.match, day.taker, day.maker
        taker.ctr = self.take("order", taker.n)
        maker.ctr = self.take("order", maker.n)
        taker.filled = np.bincount(match.order, weights=match.qty, minlength=taker.n).astype(
            np.int64
        )
        by_order = np.argsort(match.order, kind="stable")
        first_fill = np.concatenate([[0], np.cumsum(match.fills_per_order)[:-1]])
        price_by_order = match.price[by_order]
        if match.n:
            highest = np.maximum.reduceat(price_by_order, first_fill)
            lowest = np.minimum.reduceat(price_by_order, first_fill)
            taker.last_fill = np.maximum.reduceat(match.t[by_order], first_fill)
        else:
            highest = lowest = taker.last_fill = np.zeros(0, np.int64)
        # a limit order's price lets all its fills through, with a little slippage allowed
        slip = rng.uniform(0, 8e-4, taker.n)
        limit = np.where(
            taker.sells, np.floor(lowest * (1 - slip)), np.ceil(highest * (1 + slip))
        ).astype(np.int64)
        limit = np.maximum(limit, 1)
        taker.price = np.where(taker.type == 0, -1, limit)  # market orders have no price
        taker.partial = (taker.type != 0) & (rng.random(taker.n) < 0.12)
        taker.qty = np.where(
            taker.partial,
            taker.filled
            + np.maximum(1, (taker.filled * rng.uniform(0.1, 1.5, taker.n)).astype(np.int64)),
            taker.filled,
        )
        taker.created = taker.placed_at - rng.integers(1_000, 300_000, taker.n)
        maker.filled = np.bincount(match.maker_order, weights=match.qty, minlength=maker.n).astype(
            np.int64
        )
        maker.last_fill = np.zeros(maker.n, np.int64)
        np.maximum.at(maker.last_fill, match.maker_order, match.t)
        maker.partial = (maker.carried < 0) & (rng.random(maker.n) < 0.18)
        maker.qty = np.where(
            maker.partial,
            maker.filled
            + np.maximum(1, (maker.filled * rng.uniform(0.1, 2.0, maker.n)).astype(np.int64)),
            maker.filled,
        )
        earliest = np.maximum(day.lower[maker.user], day.start)
        created = maker.t - (rng.exponential(20 * MIN, maker.n)).astype(np.int64) - 1000
        maker.created = np.minimum(np.maximum(created, earliest), maker.t - 1000)
        carried = maker.carried >= 0
        if day.carried is not None and carried.any():
            maker.created[carried] = day.carried["created"][maker.carried[carried]]
            maker.ctr[carried] = day.carried["ctr"][maker.carried[carried]]
        day.taker_order_of_match = taker.ctr[match.order]
        day.maker_order_of_match = maker.ctr[match.maker_order]

    def _taker_order_versions(self, day) -> dict:
        """Taker orders: filled, or partial (then maybe cancelled)."""
        taker = day.taker
        return self._order_versions(
            day.d,
            day.rng,
            taker.ctr,
            taker.user,
            taker.pair,
            taker.type,
            taker.sells.astype(np.int64),
            taker.qty,
            taker.price,
            taker.filled,
            taker.created,
            taker.last_fill,
            taker.partial,
        )

    def _maker_order_versions(self, day) -> dict:
        """Maker orders created today (carried ones are written by `_carried_order_versions`)."""
        maker = day.maker
        new = maker.carried < 0
        return self._order_versions(
            day.d,
            day.rng,
            maker.ctr[new],
            maker.user[new],
            maker.pair[new],
            np.ones(new.sum(), np.int64),
            maker.sells[new].astype(np.int64),
            maker.qty[new],
            maker.price[new],
            maker.filled[new],
            maker.created[new],
            maker.last_fill[new],
            maker.partial[new],
        )

    def _carried_order_versions(self, day) -> list[dict]:
        """Yesterday's resting orders: filled today, or cancelled."""
        carried = day.carried
        if carried is None or not carried["user"].size:
            return []
        filled = day.carried_filled_flag
        filled_qty = day.carried_filled_qty
        maker = day.maker
        fill_time = np.full(carried["user"].size, -1, np.int64)
        where = np.flatnonzero(maker.carried >= 0)
        fill_time[maker.carried[where]] = maker.last_fill[where]
        cancel_t = day.start + day.rng.integers(HOUR, 10 * HOUR, carried["user"].size)
        unfilled = ~filled
        return [
            self._order_rows(
                carried["ctr"][unfilled],
                carried["user"][unfilled],
                carried["pair"][unfilled],
                np.ones(unfilled.sum(), np.int64),
                carried["sell"][unfilled],
                carried["qty"][unfilled],
                carried["price"][unfilled],
                np.full(unfilled.sum(), OS_CANCELLED),
                np.zeros(unfilled.sum(), np.int64),
                carried["created"][unfilled],
                cancel_t[unfilled],
            ),
            self._order_versions(
                day.d,
                day.rng,
                carried["ctr"][filled],
                carried["user"][filled],
                carried["pair"][filled],
                np.ones(filled.sum(), np.int64),
                carried["sell"][filled],
                carried["qty"][filled],
                carried["price"][filled],
                filled_qty[filled],
                carried["created"][filled],
                fill_time[filled],
                filled_qty[filled] < carried["qty"][filled],
            ),
        ]

    def _unfilled_orders(self, day) -> list[dict]:
        """Limit orders priced away from the market that never fill: most are cancelled, the
        same day or later (a later version, deferred), the rest stay pending."""
        rng, d, active, end = day.rng, day.d, day.active, day.end
        n = int(round(0.055 * (day.taker.n + day.maker.n)))
        if not (active.size and n):
            return []
        user = rng.choice(active, n)
        pair = rng.choice(N_PAIRS, n, p=PAIR_WEIGHT)
        sells = rng.random(n) < 0.5
        created = self.times(rng, d, day.lower[user], end - MIN)
        ref = self.pair_px[pair, self.minute(created)] * 10.0 ** PAIR_PRICE_DECIMALS[pair]
        offset = rng.uniform(0.01, 0.06, n)
        price = np.maximum(
            np.where(sells, np.ceil(ref * (1 + offset)), np.floor(ref * (1 - offset))), 1
        ).astype(np.int64)
        notional = np.clip(self.notional[user] * np.exp(rng.normal(0, 0.8, n)), 5, 20_000)
        qty = self._quantity(notional, ref, pair, created)
        cancel = rng.random(n) < 0.7
        cancel_t = np.where(
            cancel, created + MIN + rng.exponential(4 * HOUR, n).astype(np.int64), INF_TIME
        )
        ctr = self.take("order", n)
        same_day = cancel_t < end
        rows = [
            self._order_rows(
                ctr,
                user,
                pair,
                np.where(rng.random(n) < 0.93, 1, 2),
                sells.astype(np.int64),
                qty,
                price,
                np.where(same_day, OS_CANCELLED, OS_PENDING),
                np.zeros(n, np.int64),
                created,
                np.where(same_day, cancel_t, created),
            )
        ]
        later = cancel & ~same_day
        if later.any():
            self.defer(
                "orders",
                self.day_of(cancel_t[later]),
                self._order_arrays(
                    ctr[later],
                    user[later],
                    pair[later],
                    np.ones(later.sum(), np.int64),
                    sells[later].astype(np.int64),
                    qty[later],
                    price[later],
                    np.full(later.sum(), OS_CANCELLED),
                    np.zeros(later.sum(), np.int64),
                    created[later],
                    cancel_t[later],
                ),
            )
        return rows

    def _resting_orders_for_tomorrow(self, day) -> list[dict]:
        """Limit orders placed in the day's last hours that fill tomorrow (`self.carried`)."""
        rng, d, end = day.rng, day.d, day.end
        self.carried = None
        if not (d < self.n_days - 1 and day.maker.n):
            return []
        n = max(2, int(round(0.03 * day.maker.n)))
        user = day.pool.draw_any(n)
        pair = rng.choice(N_PAIRS, n, p=PAIR_WEIGHT)
        sells = (rng.random(n) < 0.5).astype(np.int64)
        created = self.times(rng, d, np.full(n, end - 6 * HOUR), end - MIN)
        ref = self.pair_px[pair, self.minute(created)] * 10.0 ** PAIR_PRICE_DECIMALS[pair]
        offset = rng.uniform(2, 25, n) / 10_000
        price = np.maximum(
            np.where(sells == 1, np.ceil(ref * (1 + offset)), np.floor(ref * (1 - offset))), 1
        ).astype(np.int64)
        notional = np.clip(self.notional[user] * np.exp(rng.normal(0, 0.7, n)), 5, 15_000)
        give = np.where(sells == 1, PAIR_BASE[pair], PAIR_QUOTE[pair])
        held = self.bal[user * N_ASSETS + give] * self.usd_px[give, self.minute(created)] / UNIT
        notional = np.minimum(
            notional,
            np.where(held >= 25, held * rng.uniform(0.2, 0.6, n), rng.uniform(100, 2000, n)),
        )
        notional = np.maximum(notional, 5.0)
        qty = self._quantity(notional, ref, pair, created)
        ctr = self.take("order", n)
        self.carried = {
            "user": user,
            "pair": pair,
            "sell": sells,
            "price": price,
            "qty": qty,
            "created": created,
            "ctr": ctr,
        }
        return [
            self._order_rows(
                ctr,
                user,
                pair,
                np.ones(n, np.int64),
                sells,
                qty,
                price,
                np.full(n, OS_PENDING),
                np.zeros(n, np.int64),
                created,
                created,
            )
        ]

    def _quantity(self, notional_usd, ref_price, pair, t) -> np.ndarray:
        """Integer quantity units worth `notional_usd` at `ref_price` (integer price units)."""
        unit_usd = (
            ref_price
            / 10.0 ** PAIR_PRICE_DECIMALS[pair]
            * self.usd_px[PAIR_QUOTE[pair], self.minute(t)]
        )
        return np.maximum(
            np.floor(notional_usd / unit_usd * 10.0 ** PAIR_QTY_DECIMALS[pair]), 1
        ).astype(np.int64)

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
            "pair_id": PAIR_ID[o["pair"]],
            "order_type": cat(o["otype"], ORDER_TYPES),
            "side": cat(o["sell"], SIDES),
            "quantity": o["qty"] * PAIR_QTY_UNIT[o["pair"]],
            "price": nullable(o["price"] * PAIR_PRICE_UNIT[o["pair"]], o["price"] < 0),
            "status": cat(o["status"], ORDER_STATUS),
            "filled_quantity": o["filled"] * PAIR_QTY_UNIT[o["pair"]],
            "created_at": o["created"],
            "updated_at": o["updated"],
        }

    def trade_columns(self, f: dict) -> dict:
        return {
            "trade_id": Uuid(f["ctr"], ENTITY["trade"]),
            "order_id": Uuid(f["order"], ENTITY["order"]),
            "user_id": Uuid(f["user"], ENTITY["user"]),
            "pair_id": PAIR_ID[f["pair"]],
            "side": cat(f["sell"], SIDES),
            "quantity": f["qty"] * PAIR_QTY_UNIT[f["pair"]],
            "price": f["price"] * PAIR_PRICE_UNIT[f["pair"]],
            "fee": f["fee"],
            "fee_asset": cat(PAIR_QUOTE[f["pair"]], ASSETS),
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
                np.where(fc["pair"] >= 0, PAIR_ID[np.maximum(fc["pair"], 0)], 0), fc["pair"] < 0
            ),
            "collected_at": fc["t"],
        }
