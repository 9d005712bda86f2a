"""Trading: one day of taker orders, their fills against makers, and the fees they pay.

`Trading.trade` runs the day in named steps; each step draws from the day's random stream in
a fixed order, so the same seed gives the same fills. The orders' versions (filled, partial,
cancelled, resting overnight) are written by `orders.py`.

Two orders of the arrays below: *time order* (one position per match, sorted by time) and
*group order* (`_g`: the same matches grouped by pair and maker side, time order inside a
group), in which consecutive matches with one maker and price form one maker order.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from . import balance_chains
from .codes import (
    PAIR_BASE,
    PAIR_MAKER_RATE_E4,
    PAIR_NOTIONAL_SCALE,
    PAIR_PRICE_DECIMALS,
    PAIR_QTY_DECIMALS,
    PAIR_QUOTE,
    TIER_TAKER_RATE_E4,
    draw_pairs,
    round_half_up_div,
)
from .config import DAY, MIN, N_ASSETS, SEC, UNIT


class TradingDay(SimpleNamespace):
    """The day's trading state, filled in step by step by `Trading.trade`."""


class MakerPool:
    """The users who can take the maker side today.

    A maker is drawn in proportion to the user's maker weight and, for a (pair, maker side)
    group, to what the user holds of the asset that side gives: makers sell what they hold and
    buy with what they have. A large match goes to a deep book: its maker is drawn among the
    users who hold about its size (the whales who make most of an exchange's volume), so the
    match fills from inventory rather than a fresh deposit."""

    # size classes of a match (USD): a maker of class k holds about DEPTH_USD[k] or more
    DEPTH_USD = (0.0, 1_000.0, 10_000.0, 100_000.0)

    def __init__(self, sim, users: np.ndarray, day_start: int, rng):
        self.sim, self.users, self.day_start, self.rng = sim, users, day_start, rng
        self.weights = sim.maker_w[users]
        self.cdf = np.cumsum(self.weights) / self.weights.sum()
        self.group_cdfs: dict[int, np.ndarray] = {}

    def group_cdf(self, key) -> np.ndarray:
        """Cumulative weights of the pool for key = (pair * 2 + maker side) * 4 + size class."""
        if key not in self.group_cdfs:
            sim, users = self.sim, self.users
            group, size_class = divmod(int(key), len(self.DEPTH_USD))
            pair, maker_sells = divmod(group, 2)
            asset = PAIR_BASE[pair] if maker_sells else PAIR_QUOTE[pair]
            held_usd = (
                sim.bal[users * N_ASSETS + asset]
                * sim.usd_px[asset, sim.minute(self.day_start)]
                / UNIT
            )
            depth = self.DEPTH_USD[size_class]
            if depth:
                # in proportion to the inventory: the deepest books take the large matches
                w = self.weights * (0.001 * depth + held_usd)
            else:
                w = self.weights * (0.03 + np.minimum(held_usd / sim.notional[users], 4.0))
            self.group_cdfs[key] = np.cumsum(w) / w.sum()
        return self.group_cdfs[key]

    def draw(self, groups: np.ndarray, match_usd: np.ndarray) -> np.ndarray:
        """One maker per entry of `groups` (pair * 2 + maker side) for a match of `match_usd`."""
        size_class = np.searchsorted(self.DEPTH_USD, match_usd, side="right") - 1
        keys = groups * len(self.DEPTH_USD) + np.maximum(size_class, 0)
        out = np.empty(groups.size, np.int64)
        for key in np.unique(keys):
            sel = np.flatnonzero(keys == key)
            cdf = self.group_cdf(key)
            out[sel] = self.users[
                np.minimum(np.searchsorted(cdf, self.rng.random(sel.size)), self.users.size - 1)
            ]
        return out

    def draw_any(self, n: int) -> np.ndarray:
        """n makers by maker weight alone (orders resting overnight)."""
        pick = np.searchsorted(self.cdf, self.rng.random(n))
        return self.users[np.minimum(pick, self.users.size - 1)]


class Trading:
    """Mixin of `Simulator` (engine.py): one day of orders and fills."""

    def trade(self, d: int, rng, active: np.ndarray, lower: np.ndarray) -> dict:
        """Orders and fills of day d for the active users (who trade no earlier than `lower`).

        Writes the orders; returns the fills (taker then maker of each match) and the matches
        for the ledger, logins and candles."""
        day = TradingDay(d=d, rng=rng, active=active, lower=lower)
        day.start, day.end = self.day_start(d), self.day_start(d) + DAY
        self._taker_orders(day)
        self._split_into_matches(day)
        self._group_by_maker_side(day)
        self._match_carried_orders(day)
        self._assign_makers(day)
        self._avoid_accidental_self_trades(day)
        self._size_maker_orders(day)
        self._price_fees(day)
        self.write_orders(day)  # orders.py
        return self._fills(day)

    # ------------------------------------------------------------------ steps of a day
    def _taker_orders(self, day: TradingDay) -> None:
        """Each active user's market and limit orders: when, which pair, which side, how much.

        Sets user, n_per_user, n (taker orders), placed_at, pair, sells, notional_usd, type."""
        rng, active = day.rng, day.active
        rate = self.order_rate[active] * self.order_factor(day.d)
        n_per_user = 1 + rng.poisson(np.maximum(rate - 1.0, 0.0))
        user = np.repeat(active, n_per_user)
        n = user.size
        placed_at = self.times(rng, day.d, day.lower[user] + MIN, day.end - 20 * SEC)
        pair = draw_pairs(rng, self.tier_at(user, placed_at))  # whales trade the majors
        minute = self.minute(placed_at)
        base_usd = self.usd_px[PAIR_BASE[pair], minute]
        hold_usd = self.bal[user * N_ASSETS + PAIR_BASE[pair]] * base_usd / UNIT
        # a position worth selling: at least $20 and a tenth of the user's usual order (a whale
        # does not sell crumbs: it buys until it holds a position, then sells out of it)
        holds = hold_usd >= np.maximum(20.0, 0.1 * self.notional[user])
        notional = np.clip(self.notional[user] * np.exp(rng.normal(0, 1.0, n)), 5.0, 500_000.0)
        quote_usd = self.usd_px[PAIR_QUOTE[pair], minute]
        cash_usd = self.bal[user * N_ASSETS + PAIR_QUOTE[pair]] * quote_usd / UNIT
        # (a wallet holding less than half the order is topped up instead: a small leftover
        # balance does not shrink the user's usual order size)
        funded = cash_usd >= np.maximum(25.0, 0.5 * notional)
        # a holder mostly sells (and sells rather than fund a buy); without a position a user
        # sometimes deposits coins to sell them, the larger the user the more rarely: whales
        # trade what they hold rather than move funds in for each order
        sells = rng.random(n) < np.where(
            holds,
            np.where(funded, 0.68, 0.9),
            0.2 * np.minimum(1.0, 2_000.0 / self.notional[user]),
        )
        per_order = np.repeat(n_per_user, n_per_user)  # a user's orders share what the user has
        notional = np.where(
            sells & holds,
            np.minimum(notional, hold_usd / per_order * rng.uniform(0.3, 1.0, n)),
            notional,
        )
        # buyers spend what they have; only an empty account is funded for the whole order
        notional = np.where(
            ~sells & funded,
            np.minimum(notional, cash_usd / per_order * rng.uniform(0.4, 0.95, n)),
            notional,
        )
        # an order that needs fresh funds stays within a few times the user's usual size and
        # below $10,000: a top-up is a card or bank transfer (whales fund ahead, ledger.py)
        fresh = np.where(sells, ~holds, ~funded)
        fresh_cap = np.minimum(
            np.maximum(self.notional[user], 300.0) * rng.uniform(1.0, 6.0, n),
            rng.uniform(2_000.0, 9_500.0, n),
        )
        notional = np.where(fresh, np.minimum(notional, fresh_cap), notional)
        day.taker = TradingDay(
            user=user,
            n_per_user=n_per_user,
            n=n,
            placed_at=placed_at,
            pair=pair,
            sells=sells,
            notional_usd=np.maximum(notional, 5.0),
        )
        day.taker.type = rng.choice(3, n, p=[0.45, 0.50, 0.05])

    def _split_into_matches(self, day: TradingDay) -> None:
        """Each taker order fills in one or more matches, a second apart, sharing its size.

        Sets the matches in time order: order (taker order index), t, pair, ref_price,
        qty (integer quantity units), want_usd (its USD size), taker_user, taker_sells; and n,
        fills_per_order."""
        rng, taker = day.rng, day.taker
        fills_per_order = day.rng.geometric(0.72, taker.n)
        n = int(fills_per_order.sum())
        order = np.repeat(np.arange(taker.n), fills_per_order)
        first_fill = np.concatenate([[0], np.cumsum(fills_per_order)[:-1]])
        fill_index = np.arange(n) - np.repeat(first_fill, fills_per_order)
        t = taker.placed_at[order] + fill_index * 1000
        share = rng.gamma(2.0, size=n)
        share = share / np.add.reduceat(share, first_fill)[order]
        pair = taker.pair[order]
        minute = self.minute(t)
        ref_price = self.pair_px[pair, minute]
        quote_usd = self.usd_px[PAIR_QUOTE[pair], minute]
        want_usd = taker.notional_usd[order] * share
        qty = np.maximum(
            np.floor(want_usd / (ref_price * quote_usd) * 10.0 ** PAIR_QTY_DECIMALS[pair]),
            1,
        ).astype(np.int64)
        # time order (ties: order, fill index)
        by_time = np.lexsort((fill_index, order, t))
        order = order[by_time]
        day.match = TradingDay(
            n=n,
            fills_per_order=fills_per_order,
            order=order,
            t=t[by_time],
            pair=pair[by_time],
            ref_price=ref_price[by_time],
            qty=qty[by_time],
            want_usd=want_usd[by_time],
            taker_user=taker.user[order],
            taker_sells=taker.sells[order],
        )

    def _group_by_maker_side(self, day: TradingDay) -> None:
        """Group the matches by (pair, maker side), keeping time order inside each group.

        Sets maker_sells (time order), to_group (time position of each group position),
        group_g (group key per group position), group_starts, group_sizes, group_keys, usd
        (the match's USD size per group position)."""
        match = day.match
        match.maker_sells = ~match.taker_sells
        group = match.pair * 2 + match.maker_sells
        to_group = np.argsort(group, kind="stable")
        group_g = group[to_group]
        _, group_starts = balance_chains.segments(group_g)
        day.groups = TradingDay(
            to_group=to_group,
            group_g=group_g,
            starts=group_starts,
            sizes=np.diff(np.append(group_starts, match.n)),
            keys=group_g[group_starts],
            usd=match.want_usd[to_group],
        )

    def _match_carried_orders(self, day: TradingDay) -> None:
        """Yesterday's resting orders fill first in their group, oldest first, unless their
        owner is the taker or is held out by a campaign.

        Sets carried (yesterday's orders or None), carried_at_g (index into carried per
        group position, -1 if none), carried_filled_flag (per carried order)."""
        match, groups = day.match, day.groups
        carried_at_g = np.full(match.n, -1, np.int64)
        carried = getattr(self, "carried", None)
        carried_filled_flag = None
        if carried is not None and carried["user"].size:
            carried_group = carried["pair"] * 2 + carried["sell"]
            rank = np.zeros(carried_group.size, np.int64)
            by_age = np.lexsort((carried["created"], carried_group))
            segment, segment_starts = balance_chains.segments(carried_group[by_age])
            rank[by_age] = np.arange(by_age.size) - segment_starts[segment]
            keys = groups.keys
            gi = np.searchsorted(keys, carried_group)
            found = (gi < keys.size) & (keys[np.minimum(gi, keys.size - 1)] == carried_group)
            gi = np.minimum(gi, max(keys.size - 1, 0))
            ok = found & (rank < np.where(found, groups.sizes[gi] if keys.size else 0, 0))
            position = (
                np.where(ok, groups.starts[gi] + rank, 0)
                if keys.size
                else np.zeros(carried_group.size, np.int64)
            )
            ok &= (
                match.taker_user[groups.to_group[position]] != carried["user"] if match.n else False
            )
            ok &= ~np.isin(carried["user"], self.campaign_plan.blocked(day.d))
            carried_at_g[position[ok]] = np.flatnonzero(ok)
            carried_filled_flag = ok
        day.carried = carried
        day.carried_at_g = carried_at_g
        day.carried_filled_flag = carried_filled_flag

    def _assign_makers(self, day: TradingDay) -> None:
        """Draw a maker for each run of matches in a group; give each maker order a price a
        little better than the reference (carried orders keep theirs).

        Sets new_maker_order_g (a maker order starts at this group position), maker_user_g,
        fixed_g (carried or planted: never redrawn), planted_self_g, price_g, pool."""
        rng, d, match, groups = day.rng, day.d, day.match, day.groups
        n = match.n
        is_carried = day.carried_at_g >= 0
        # a large match has a maker order of its own, drawn among the deep books
        new_order = (rng.random(n) < 0.55) | (groups.usd >= MakerPool.DEPTH_USD[1])
        if n:
            new_order[groups.starts] = True
        new_order |= is_carried
        new_order[1:] |= is_carried[:-1]
        pool = np.flatnonzero(
            np.isin(np.arange(self.n_users), day.active) & (day.lower <= day.start + 10 * MIN)
        )
        if pool.size < 3:
            pool = np.flatnonzero((self.kyc == 1) & (self.approved < day.start) & ~self.reserved)
            pool = np.setdiff1d(pool, self.campaign_plan.blocked(d))
        day.pool = MakerPool(self, pool, day.start, rng)
        order_of = np.cumsum(new_order) - 1
        maker_user = (
            day.pool.draw(groups.group_g[new_order], groups.usd[new_order])[order_of]
            if n
            else np.zeros(0, np.int64)
        )
        taker_user_g = match.taker_user[groups.to_group]
        if day.carried is not None and is_carried.any():
            maker_user[is_carried] = day.carried["user"][day.carried_at_g[is_carried]]
        planted_self = self.cases.self_trade_matches(
            d, rng, taker_user_g, match.pair[groups.to_group], is_carried
        )
        if planted_self.size:
            maker_user[planted_self] = taker_user_g[planted_self]
            new_order[planted_self] = True
            new_order[np.minimum(planted_self + 1, n - 1)] = True
        fixed = is_carried.copy()
        fixed[planted_self] = True
        collides = (maker_user == taker_user_g) & ~fixed
        while collides.any():
            maker_user[collides] = day.pool.draw(groups.group_g[collides], groups.usd[collides])
            collides = (maker_user == taker_user_g) & ~fixed
        if n:
            new_order[1:] |= maker_user[1:] != maker_user[:-1]
            new_order[groups.starts] = True
        # one price per maker order: a half-spread off the reference, carried orders keep theirs
        order_of = np.cumsum(new_order) - 1
        n_orders = int(order_of[-1]) + 1 if n else 0
        first = np.flatnonzero(new_order)
        order_pair = match.pair[groups.to_group][first]
        order_sells = match.maker_sells[groups.to_group][first]
        order_carried = day.carried_at_g[first]
        half_spread = rng.uniform(0.5, 3.0, n_orders) / 10_000
        ref = match.ref_price[groups.to_group][first] * 10.0 ** PAIR_PRICE_DECIMALS[order_pair]
        price = np.where(
            order_sells, np.ceil(ref * (1 + half_spread)), np.floor(ref * (1 - half_spread))
        ).astype(np.int64)
        if day.carried is not None and (order_carried >= 0).any():
            price[order_carried >= 0] = day.carried["price"][order_carried[order_carried >= 0]]
        price = np.maximum(price, 1)
        day.new_maker_order_g = new_order
        day.maker_user_g = maker_user
        day.taker_user_g = taker_user_g
        day.fixed_g = fixed
        day.planted_self_g = planted_self
        day.price_g = price[order_of]

    def _avoid_accidental_self_trades(self, day: TradingDay) -> None:
        """No accidental self-trades: a user must not be the maker of a fill at the price and on
        the pair of one of the user's own opposite fills within 60 s (only planted ones).

        Redraws such makers, then fixes the maker orders: sets maker (per maker order: user,
        pair, sells, t, carried index, price, n) and order_of_g (maker order per group
        position)."""
        match, groups, pool = day.match, day.groups, day.pool
        n, to_group = match.n, groups.to_group
        maker_user, new_order, price_g = day.maker_user_g, day.new_maker_order_g, day.price_g
        to_time = np.empty(n, np.int64)  # group position of each time position
        to_time[to_group] = np.arange(n)
        for _ in range(6):
            conflict = self._self_trade_conflicts(
                match.taker_user,
                maker_user[to_time],
                match.pair,
                price_g[to_time],
                match.taker_sells,
                match.t,
                day.fixed_g[to_time],
            )
            if conflict.size == 0:
                break
            position = to_time[conflict]
            maker_user[position] = pool.draw(groups.group_g[position], groups.usd[position])
            clash = maker_user[position] == day.taker_user_g[position]
            while clash.any():
                maker_user[position[clash]] = pool.draw(
                    groups.group_g[position[clash]], groups.usd[position[clash]]
                )
                clash = maker_user[position] == day.taker_user_g[position]
            new_order[position] = True
            new_order[np.minimum(position + 1, n - 1)] = True
        if n:
            new_order[1:] |= (maker_user[1:] != maker_user[:-1]) | (price_g[1:] != price_g[:-1])
            new_order[groups.starts] = True
        order_of = np.cumsum(new_order) - 1
        first = np.flatnonzero(new_order)
        day.to_time = to_time
        day.order_of_g = order_of
        day.maker = TradingDay(
            n=int(order_of[-1]) + 1 if n else 0,
            user=maker_user[first],
            pair=match.pair[to_group][first],
            sells=match.maker_sells[to_group][first],
            t=match.t[to_group][first],
            carried=day.carried_at_g[first],
            price=price_g[first],
        )

    def _size_maker_orders(self, day: TradingDay) -> None:
        """A resting order offers what its owner holds (at the day's start): larger taker
        orders are filled in part (makers with nothing to offer post a moderate size).

        Sets the final match quantities, prices, maker users and maker orders in time order,
        and carried_filled_qty (per carried order)."""
        rng, match, maker = day.rng, day.match, day.maker
        order_of = day.order_of_g
        qty_g = match.qty[day.groups.to_group]
        matches_per_order = np.bincount(order_of, minlength=maker.n)
        asset = np.where(maker.sells, PAIR_BASE[maker.pair], PAIR_QUOTE[maker.pair])
        held_usd = (
            self.bal[maker.user * N_ASSETS + asset]
            * self.usd_px[asset, self.minute(np.full(maker.n, day.start))]
            / UNIT
        )
        # ... shared by all of the owner's resting orders that give the same asset today
        user_asset = maker.user * N_ASSETS + asset
        _, user_asset_of, orders_per_user_asset = np.unique(
            user_asset, return_inverse=True, return_counts=True
        )
        share = matches_per_order * np.sqrt(orders_per_user_asset[user_asset_of]) * 1.5
        # a maker offers part of what it holds or, holding little, a moderate size that a
        # deposit funds: a whale's book is its inventory, not fresh money
        moderate = np.clip(self.notional[maker.user], 300.0, 2_500.0) * rng.uniform(
            1.0, 6.0, maker.n
        )
        from_inventory = np.where(held_usd >= 25.0, held_usd * rng.uniform(0.3, 0.9, maker.n), 0.0)
        offer_usd = np.maximum(from_inventory, moderate) / share
        unit_usd = (
            maker.price
            / 10.0 ** PAIR_PRICE_DECIMALS[maker.pair]
            / 10.0 ** PAIR_QTY_DECIMALS[maker.pair]
            * self.usd_px[PAIR_QUOTE[maker.pair], self.minute(maker.t)]
        )
        cap = np.maximum(np.floor(offer_usd / unit_usd), 1).astype(np.int64)
        qty_g = np.minimum(qty_g, cap[order_of])
        carried, carried_at_g = day.carried, day.carried_at_g
        day.carried_filled_qty = None
        if carried is not None and carried["user"].size:
            # the resting order gives at most its quantity; the taker takes at most what it wanted
            is_carried = carried_at_g >= 0
            qty_g[is_carried] = np.minimum(
                carried["qty"][carried_at_g[is_carried]], qty_g[is_carried]
            )
            day.carried_filled_qty = np.zeros(carried["user"].size, np.int64)
            day.carried_filled_qty[carried_at_g[is_carried]] = qty_g[is_carried]
        # back to time order
        match.price = day.price_g[day.to_time]
        match.qty = qty_g[day.to_time]
        match.maker_user = day.maker_user_g[day.to_time]
        match.maker_order = order_of[day.to_time]

    def _price_fees(self, day: TradingDay) -> None:
        """Take the fills' trade counters (taker 2r, maker 2r+1 for the match of time rank r)
        and price their fees: takers pay their tier's rate, makers the pair's maker rate."""
        match, d = day.match, day.d
        day.first_trade = self.take("trade", 2 * match.n)[0] if match.n else self.counters["trade"]
        if d == self.cases.self_day:
            self.cases.record_self_trades(
                d, day.groups.to_group[day.planted_self_g], day.first_trade, match.taker_user
            )
        match.notional_units = match.qty * match.price * PAIR_NOTIONAL_SCALE[match.pair]
        taker_rate = TIER_TAKER_RATE_E4[self.tier_at(match.taker_user, match.t)]
        maker_rate = PAIR_MAKER_RATE_E4[match.pair]
        match.taker_fee = round_half_up_div(match.notional_units * taker_rate, 10_000)
        match.maker_fee = round_half_up_div(match.notional_units * maker_rate, 10_000)

    def _fills(self, day: TradingDay) -> dict:
        """The fills in trade-id order (taker then maker of each match), and the matches."""
        match, taker = day.match, day.taker
        n = match.n

        def interleave(a, b):
            return np.stack([a, b], axis=1).reshape(-1)

        fills = {
            "ctr": day.first_trade + np.arange(2 * n, dtype=np.int64),
            "order": interleave(day.taker_order_of_match, day.maker_order_of_match),
            "user": interleave(match.taker_user, match.maker_user),
            "pair": interleave(match.pair, match.pair),
            "sell": interleave(
                match.taker_sells.astype(np.int64), match.maker_sells.astype(np.int64)
            ),
            "qty": interleave(match.qty, match.qty),
            "price": interleave(match.price, match.price),
            "fee": interleave(match.taker_fee, match.maker_fee),
            "maker": interleave(np.zeros(n, bool), np.ones(n, bool)),
            "t": interleave(match.t, match.t),
            "notional": interleave(match.notional_units, match.notional_units),
        }
        return {
            "fills": fills,
            "active": day.active,
            "taker_user": taker.user,
            "taker_placed_at": taker.placed_at,
            "match_pair": match.pair,
            "match_t": match.t,
            "match_price": match.price,
            "match_qty": match.qty,
        }

    @staticmethod
    def _self_trade_conflicts(t_user, m_user, pair, price, t_sell, t, fixed) -> np.ndarray:
        """Matches whose maker fill would make its user's buy and sell meet (same pair and
        price, within 60 s) with another fill of that user."""
        n = t.size
        if n == 0:
            return np.zeros(0, np.int64)
        user = np.concatenate([t_user, m_user])
        sell = np.concatenate([t_sell, ~t_sell])
        maker = np.concatenate([np.zeros(n, bool), np.ones(n, bool)])
        match = np.concatenate([np.arange(n), np.arange(n)])
        fill_price = np.concatenate([price, price])
        fill_pair = np.concatenate([pair, pair])
        fill_t = np.concatenate([t, t])
        o = np.lexsort((fill_t, fill_price, fill_pair, user))
        same = (
            (user[o][1:] == user[o][:-1])
            & (fill_pair[o][1:] == fill_pair[o][:-1])
            & (fill_price[o][1:] == fill_price[o][:-1])
        )
        bad = same & (sell[o][1:] != sell[o][:-1]) & (fill_t[o][1:] - fill_t[o][:-1] <= 60 * SEC)
        i, j = o[:-1][bad], o[1:][bad]
        # fix the maker fill of the pair (the later one if both are), never a planted match
        pick = np.where(maker[j], j, np.where(maker[i], i, -1))
        pick = pick[pick >= 0]
        m = np.unique(match[pick])
        return m[~fixed[m]]
