"""Market data: the price paths every other family trades at, hourly candles from the day's
fills, order-book snapshots and the external price feeds.
"""

from __future__ import annotations

import numpy as np

from . import balance_chains
from .codes import (
    N_PAIRS,
    PAIR_BASE,
    PAIR_ID,
    PAIR_PRICE_DECIMALS,
    PAIR_PRICE_UNIT,
    PAIR_QTY_UNIT,
    PAIR_QUOTE,
    PAIR_WEIGHT,
    SOURCES,
)
from .config import (
    ASSETS,
    BASE_ASSETS,
    ENTITY,
    HOUR,
    MIN,
    N_ASSETS,
    SEC,
    UNIT,
    A,
)
from .writer import Uuid, cat, nullable


class MarketData:
    """Mixin of `Simulator` (engine.py): prices, candles, order books, external prices."""

    # ------------------------------------------------------------------ prices
    def setup_prices(self) -> None:
        rng = self.rng("prices")
        n_min = self.n_days * 1440 + 1
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
        self.pair_px = usd[PAIR_BASE] / usd[PAIR_QUOTE]
        self.last_close = np.round(self.pair_px[:, 0] * 10.0**PAIR_PRICE_DECIMALS).astype(np.int64)

    def minute(self, t: np.ndarray) -> np.ndarray:
        return np.clip((np.asarray(t) - self.start_us) // MIN, 0, self.n_min - 1)

    def usd_value(self, asset: np.ndarray, amount_units: np.ndarray, t: np.ndarray) -> np.ndarray:
        return self.usd_px[asset, self.minute(t)] * amount_units / UNIT

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
        seg, st = balance_chains.segments(cs)
        n_cells = N_PAIRS * 24
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
        cnt, opn, cls, hi, lo, vol = (a.reshape(N_PAIRS, 24) for a in (cnt, opn, cls, hi, lo, vol))
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
        pair = np.repeat(np.arange(N_PAIRS), 24)
        ts = ds + np.tile(np.arange(24), N_PAIRS) * HOUR
        pu = PAIR_PRICE_UNIT[pair]
        cols = {
            "pair_id": PAIR_ID[pair],
            "timestamp": ts,
            "open_price": opn.reshape(-1) * pu,
            "high_price": hi.reshape(-1) * pu,
            "low_price": lo.reshape(-1) * pu,
            "close_price": cls.reshape(-1) * pu,
            "volume": vol.reshape(-1) * PAIR_QTY_UNIT[pair],
            "trade_count": cnt.reshape(-1),
        }
        self.cases.candles(d, cols)
        o = np.lexsort((cols["pair_id"], cols["timestamp"]))
        self.writer.write("market_data_1h", self.label(d), {k: v[o] for k, v in cols.items()}, d)

    def order_books(self, d: int) -> None:
        ds = self.day_start(d)
        rng = self.rng("books", d)
        k = 96
        pair = np.tile(np.arange(N_PAIRS), k)
        ts = ds + np.repeat(np.arange(k), N_PAIRS) * 15 * MIN
        ref = self.pair_px[pair, self.minute(ts)] * 10.0 ** PAIR_PRICE_DECIMALS[pair]
        hs = rng.uniform(0.4, 4.0, ts.size) * (1 + 2 * (PAIR_WEIGHT[pair] < 0.06)) / 10_000
        bid = np.floor(ref * (1 - hs)).astype(np.int64)
        ask = np.maximum(np.ceil(ref * (1 + hs)).astype(np.int64), bid + 1)
        depth_usd = (
            4e6
            * PAIR_WEIGHT[pair]
            / 0.3
            * np.exp(rng.normal(0, 0.35, ts.size))
            * (self.n_users / 50_000) ** 0.5
        )
        base_px = self.usd_px[PAIR_BASE[pair], self.minute(ts)]
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
        pu = PAIR_PRICE_UNIT[pair]
        self.writer.write(
            "order_book_snapshots",
            self.label(d),
            {
                "snapshot_id": Uuid(ctr, ENTITY["snapshot"]),
                "pair_id": PAIR_ID[pair],
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
        self.writer.write(
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
