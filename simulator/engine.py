"""The exchange simulator: a deterministic, vectorised, day-by-day model of a crypto exchange.

`simulate()` sets up users, prices and the planted cases, writes the reference tables and the
pre-window history, then generates and writes one day at a time (bounded memory): logins,
orders and fills, the balance chain of every wallet, fees, candles, order books, external
prices, support, security and compliance events, and system metrics. See README.md.

`Simulator` is assembled from one class per source family, each in its own module and each
reading the shared state set up here and in `users.py`:

    users.py        users and KYC: the population, user and KYC versions, pre-window history
    churn.py        engagement, observed behaviour, the daily churn hazard
    trading.py      taker orders, matching against makers, fills (orders.py: order versions)
    ledger.py       balance chains per wallet: transactions, wallets, fee collections
    market_data.py  price paths, candles, order books, external prices
    security.py     logins, security events, compliance alerts
    support.py      support tickets, system metrics

Every random draw comes from a named stream (`rng(stream, day)`), so a seed and a scale give
the same files byte for byte.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from pathlib import Path

import numpy as np

from ingestion.contract import TABLES

from .campaigns import CampaignPlan
from .churn import Churn
from .codes import iso_date
from .config import DAY, DEFAULT_END_DATE, ENTITY, FORMATS, HOUR, HOUR_WEIGHTS, MIN, SCALES, SEC
from .faults import FaultPlan
from .ids import mix64, salt, uuid_str
from .ledger import Ledger
from .market_data import MarketData
from .orders import Orders
from .planted import PlantedCases
from .security import Security
from .support import Support
from .trading import Trading
from .users import Users
from .writer import LandingWriter


class Simulator(Users, Churn, Trading, Orders, Ledger, MarketData, Security, Support):
    """One simulation run: `Simulator(out_dir, scale=..., seed=...).run()` writes the files."""

    def __init__(
        self,
        out_dir,
        scale: str = "small",
        seed: int = 42,
        end_date=None,
        faults: bool = True,
        quiet: bool = True,
        until=None,
        overwrite: bool = False,
    ):
        if scale not in SCALES:
            raise ValueError(f"unknown scale {scale!r}; choose one of {sorted(SCALES)}")
        self.scale = SCALES[scale]
        self.seed = int(seed)
        self.salt = salt(self.seed)
        end = end_date or DEFAULT_END_DATE
        if isinstance(end, str):
            end = dt.date.fromisoformat(end)
        self.end_date = end
        self.n_days = self.scale.days
        self.start_date = end - dt.timedelta(days=self.n_days - 1)
        self.history_date = self.start_date - dt.timedelta(days=1)
        self.start_us = (
            int(
                dt.datetime(
                    self.start_date.year, self.start_date.month, self.start_date.day, tzinfo=dt.UTC
                ).timestamp()
            )
            * SEC
        )
        self.faults = faults
        self.quiet = quiet
        if isinstance(until, str):
            until = dt.date.fromisoformat(until)
        self.until = until
        self.out = Path(out_dir)
        self._prepare_out(overwrite)
        self.writer = LandingWriter(self.out, self.salt)
        self.cases = PlantedCases(self)
        self.counters = {k: 0 for k in ENTITY}
        self.anomaly_days = {}
        if self.scale.anomalies:
            self.anomaly_days = {
                "registration_surge": self.day_at_fraction(0.35),
                "volume_spike": self.day_at_fraction(0.55),
                "revenue_drop": self.day_at_fraction(0.78),
            }
        self.deferred: dict[str, list] = {}

    # ------------------------------------------------------------------ helpers
    def day_at_fraction(self, fraction: float) -> int:
        """A day index at a fraction of the window."""
        return int(min(self.n_days - 1, max(0, round(fraction * (self.n_days - 1)))))

    def rng(self, stream: str, day: int = -1) -> np.random.Generator:
        code = int(
            mix64(np.array([sum(ord(c) * 131**i for i, c in enumerate(stream)) % (1 << 62)]))[0]
            >> 2
        )
        return np.random.default_rng([self.seed, code, day + 2])

    def day_start(self, d: int) -> int:
        return self.start_us + d * DAY

    def date_of(self, d: int) -> dt.date:
        return self.start_date + dt.timedelta(days=d)

    def label(self, d: int) -> str:
        return iso_date(self.date_of(d)) if d >= 0 else iso_date(self.history_date)

    def take(self, entity: str, n: int) -> np.ndarray:
        start = self.counters[entity]
        self.counters[entity] = start + int(n)
        return np.arange(start, start + int(n), dtype=np.int64)

    def uid(self, entity: str, counter: int) -> str:
        return uuid_str(int(counter), ENTITY[entity], self.salt)

    def day_of(self, t: np.ndarray) -> np.ndarray:
        """Window day index of times (-1 for anything before the window)."""
        return np.maximum(-1, np.floor_divide(np.asarray(t) - self.start_us, DAY))

    def iso(self, t: int) -> str:
        return dt.datetime.fromtimestamp(t / SEC, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")

    def _prepare_out(self, overwrite: bool) -> None:
        manifest = self.out / "_simulator" / "manifest.json"
        table_dirs = [self.out / t for t in TABLES]
        if overwrite:
            for folder in table_dirs + [self.out / "_simulator"]:
                shutil.rmtree(folder, ignore_errors=True)
        elif manifest.exists():
            old = json.loads(manifest.read_text())
            same = (old.get("scale"), old.get("seed"), old.get("end_date"), old.get("faults")) == (
                self.scale.name,
                self.seed,
                iso_date(self.end_date),
                self.faults,
            )
            if not same:
                raise SystemExit(
                    f"{self.out} holds a simulation with other settings ({old.get('scale')}, "
                    f"seed {old.get('seed')}, end {old.get('end_date')}); "
                    "use --overwrite or another --out"
                )
        elif any(d.exists() and any(d.iterdir()) for d in table_dirs):
            raise SystemExit(
                f"{self.out} already holds landing files; use --overwrite or another --out"
            )
        self.out.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ deferred versions
    def defer(self, table: str, days: np.ndarray, cols: dict) -> None:
        """Rows (later versions) to write in the file of a later day; past the window: dropped."""
        days = np.asarray(days)
        keep = days < self.n_days
        if not keep.any():
            return
        self.deferred.setdefault(table, []).append(
            (days[keep], {k: np.asarray(v)[keep] for k, v in cols.items()})
        )

    def pop_deferred(self, table: str, d: int) -> dict | None:
        batches = self.deferred.get(table, [])
        out, rest = [], []
        for days, cols in batches:
            now = days == d
            if now.any():
                out.append({k: v[now] for k, v in cols.items()})
            if (~now).any():
                rest.append((days[~now], {k: v[~now] for k, v in cols.items()}))
        self.deferred[table] = rest
        if not out:
            return None
        return {k: np.concatenate([o[k] for o in out]) for k in out[0]}

    def with_deferred(self, table: str, d: int, batch: dict) -> dict:
        """The day's batch followed by the rows deferred to day d (later versions of rows)."""
        later = self.pop_deferred(table, d)
        if later is None:
            return batch
        return {k: np.concatenate([batch[k], later[k]]) for k in batch}

    # ------------------------------------------------------------------ intraday time
    def hour_weights(self, d: int) -> np.ndarray:
        w = np.array(HOUR_WEIGHTS, dtype=np.float64)
        if d == self.anomaly_days.get("revenue_drop"):
            w[6:15] *= 0.03  # matching-engine outage 06:00-15:00 UTC
        return w

    def times(self, rng, d: int, lo, hi, n: int | None = None) -> np.ndarray:
        """Random times in [lo, hi) following the day's intraday profile."""
        ds = self.day_start(d)
        lo = np.broadcast_to(
            np.asarray(lo, dtype=np.int64), (n,) if n is not None else np.shape(lo)
        )
        hi = np.broadcast_to(np.asarray(hi, dtype=np.int64), lo.shape)
        w = self.hour_weights(d)
        y = np.concatenate([[0.0], np.cumsum(w)]) / w.sum()
        x = np.arange(25, dtype=np.float64) * HOUR
        flo = np.interp((lo - ds).astype(np.float64), x, y)
        fhi = np.interp((hi - ds).astype(np.float64), x, y)
        u = flo + rng.random(lo.shape) * (fhi - flo)
        t = ds + np.interp(u, y, x).astype(np.int64)
        return np.clip(t, lo, np.maximum(lo, hi - 1))

    def day_factor(self, d: int) -> float:
        wd = self.date_of(d).weekday()
        f = (0.85 if wd >= 5 else 1.0) * (1.0 + 0.004 * d)
        if d == self.anomaly_days.get("volume_spike"):
            f *= 1.35
        if d == self.anomaly_days.get("revenue_drop"):
            f *= 0.55
        return f

    def order_factor(self, d: int) -> float:
        if d == self.anomaly_days.get("volume_spike"):
            return 2.6
        if d == self.anomaly_days.get("revenue_drop"):
            return 0.45
        return 1.0

    # ------------------------------------------------------------------ run
    def _clock(self, phase: str) -> None:
        """Adds the wall time since the last call to `phase` (reported, never written)."""
        now = time.perf_counter()
        self.timings[phase] = self.timings.get(phase, 0.0) + now - self._last
        self._last = now

    def run(self) -> dict:
        t0 = time.time()
        self.timings: dict[str, float] = {}
        self._last = time.perf_counter()
        self.setup_prices()
        self.setup_users()
        self.setup_churn()
        self.cases.setup_users()
        self.campaign_plan = CampaignPlan(self)  # after the planted cases reserve their users
        self.writer.cache_user_ids(self.n_users, ENTITY["user"])
        self.faults_plan = FaultPlan(self)
        self.user_events()
        self.kyc_versions()
        self.write_history()
        self._clock("set-up and history")
        last = self.n_days - 1
        if self.until is not None:
            last = min(last, (self.until - self.start_date).days)
        self.last_day = last
        from tqdm import tqdm

        bar = tqdm(
            range(last + 1), disable=self.quiet, unit="day", desc=f"simulate {self.scale.name}"
        )
        for d in bar:
            bar.set_postfix_str(self.label(d))
            self.day(d)
        self.writer.close()
        self._clock("waiting for gzip")
        manifest = self.write_manifest()
        manifest["elapsed_seconds"] = round(time.time() - t0, 2)
        manifest["timings_seconds"] = {k: round(v, 2) for k, v in self.timings.items()}
        manifest["cpu_seconds"] = round(time.process_time(), 2)
        return manifest

    def write_manifest(self) -> dict:
        meta = self.out / "_simulator"
        meta.mkdir(parents=True, exist_ok=True)
        n_cases = self.cases.write(meta / "planted_cases.csv")
        n_campaigns = self.campaign_plan.write_truth(meta / "campaign_truth.csv")
        manifest = {
            "simulator": "simulator",
            "scale": self.scale.name,
            "seed": self.seed,
            "faults": self.faults,
            "start_date": iso_date(self.start_date),
            "end_date": iso_date(self.end_date),
            "last_day_written": iso_date(self.date_of(self.last_day)),
            "history_file_date": iso_date(self.history_date),
            "days": self.n_days,
            "users": self.n_users,
            "anomaly_days": {
                k: iso_date(self.date_of(v)) for k, v in sorted(self.anomaly_days.items())
            },
            "formats": {t: FORMATS[t][0] for t in sorted(FORMATS)},
            "row_counts": {t: int(self.writer.rows.get(t, 0)) for t in sorted(TABLES)},
            "file_counts": {t: int(self.writer.files.get(t, 0)) for t in sorted(TABLES)},
            "planted_cases": n_cases,
            "campaigns": n_campaigns,
        }
        (meta / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        return manifest

    # ------------------------------------------------------------------ one day
    def day(self, d: int) -> None:
        ds, de = self.day_start(d), self.day_start(d) + DAY
        rng = self.rng("day", d)
        clock = self._clock
        self.write_users(d)
        self.write_kyc(d)
        clock("users")
        # who trades today
        lower = np.maximum(self.approved + 10 * MIN, ds)
        elig = (
            (self.kyc == 1)
            & (lower < de - 2 * HOUR)
            & ~self.never
            & ~self.reserved
            & (self.first_day <= d)
            & ~((self.churn_day <= d) & (d < self.return_day))
            & (self.suspend_us >= de)
            & (self.close_us >= de)
        )
        p = np.where(
            self.first_day == d,
            1.0,
            np.clip(
                # the user's usual chance, drifting with engagement (churn.py), stays within
                # the bounds of setup_users, so that a quiet or busy day moves every user
                np.clip(self.p_act * self.engagement_factor(), 0.02, 0.92)
                * self.day_factor(d)
                * self.churn_decline(d),
                0,
                0.97,
            ),
        )
        # campaign members: kept out of, or made to trade in, their window (campaigns.py)
        elig, p = self.campaign_plan.steer(d, elig, p)
        self.campaign_plan.write_members(d)
        active = np.flatnonzero(elig & (rng.random(self.n_users) < p))
        trading = self.trade(d, rng, active, lower)
        clock("orders and fills")
        logins = self.logins(d, rng, active, trading)
        clock("logins")
        flows = self.flows(d, rng, trading, lower)
        clock("ledger, trades, fees")
        self.market_data(d, trading)
        self.order_books(d)
        self.external_prices(d)
        clock("market data")
        self.security_and_compliance(d, rng, logins, flows)
        self.support_tickets(d, rng)
        self.system_metrics(d, rng)
        self.end_of_day_churn(d, trading)
        clock("security, compliance, support, metrics")


def simulate(
    out_dir,
    scale: str = "small",
    seed: int = 42,
    end_date=None,
    faults: bool = True,
    quiet: bool = True,
    until=None,
    overwrite: bool = False,
) -> dict:
    """Write a landing directory; returns the manifest (row counts per table, dates, cases)."""
    return Simulator(out_dir, scale, seed, end_date, faults, quiet, until, overwrite).run()
