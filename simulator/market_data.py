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
        """Hourly candles per traded pair from the day's matches (open, high, low, close at
        integer price units, volume in quantity units); an hour without fills is flat at the
        last close."""
        ds = self.day_start(d)
        price_of_match, qty_of_match = trading["match_price"], trading["match_qty"]
        cell = trading["match_pair"] * 24 + (trading["match_t"] - ds) // HOUR
        by_cell = np.argsort(cell, kind="stable")
        cells_sorted = cell[by_cell]
        _, cell_starts = balance_chains.segments(cells_sorted)
        n_cells = N_PAIRS * 24
        count = np.zeros(n_cells, np.int64)
        open_ = np.zeros(n_cells, np.int64)
        close = np.zeros(n_cells, np.int64)
        high = np.zeros(n_cells, np.int64)
        low = np.zeros(n_cells, np.int64)
        volume = np.zeros(n_cells, np.int64)
        if cells_sorted.size:
            ids = cells_sorted[cell_starts]
            ends = np.append(cell_starts[1:], cells_sorted.size) - 1
            price = price_of_match[by_cell]
            count[ids] = np.diff(np.append(cell_starts, cells_sorted.size))
            open_[ids] = price[cell_starts]
            close[ids] = price[ends]
            high[ids] = np.maximum.reduceat(price, cell_starts)
            low[ids] = np.minimum.reduceat(price, cell_starts)
            volume[ids] = np.add.reduceat(qty_of_match[by_cell], cell_starts)
        count, open_, close, high, low, volume = (
            a.reshape(N_PAIRS, 24) for a in (count, open_, close, high, low, volume)
        )
        # hours without fills: a flat candle at the last price
        has = count > 0
        idx = np.where(has, np.arange(24)[None, :], -1)
        np.maximum.accumulate(idx, axis=1, out=idx)
        prev_close = np.where(
            idx >= 0,
            np.take_along_axis(close, np.maximum(idx, 0), axis=1),
            self.last_close[:, None],
        )
        open_ = np.where(has, open_, prev_close)
        high = np.where(has, high, prev_close)
        low = np.where(has, low, prev_close)
        close = np.where(has, close, prev_close)
        self.last_close = close[:, -1].copy()
        pair = np.repeat(np.arange(N_PAIRS), 24)
        ts = ds + np.tile(np.arange(24), N_PAIRS) * HOUR
        price_unit = PAIR_PRICE_UNIT[pair]
        cols = {
            "pair_id": PAIR_ID[pair],
            "timestamp": ts,
            "open_price": open_.reshape(-1) * price_unit,
            "high_price": high.reshape(-1) * price_unit,
            "low_price": low.reshape(-1) * price_unit,
            "close_price": close.reshape(-1) * price_unit,
            "volume": volume.reshape(-1) * PAIR_QTY_UNIT[pair],
            "trade_count": count.reshape(-1),
        }
        self.cases.candles(d, cols)
        by_cell = np.lexsort((cols["pair_id"], cols["timestamp"]))
        self.writer.write(
            "market_data_1h", self.label(d), {k: v[by_cell] for k, v in cols.items()}, d
        )

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
