"""How simulated users churn: a daily hazard driven by what the user lived through.

Real traders leave after bad experiences and fading interest, not at a random date. Here a
user's churn is decided day by day from behaviour the warehouse can observe (README.md, "How
simulated users churn"):

- **Engagement** drifts: a per-user random walk (mean-reverting, in log space) multiplies the
  chance to trade, so some users' activity fades for weeks and recovers, or does not.
- At the end of each day every trader who has not churned yet gets a **hazard**, a base rate
  times a factor per observed signal: a falling activity trend (trade days of the last week
  against the last month), support tickets filed in the last month and, more, tickets still
  open after two days, money lost trading in the last month (marked to the day's close, fees
  included, against the user's usual order size), withdrawals that failed; a deposit in the
  last two weeks and a higher tier lower it.
- A user drawn to churn on day d starts the announced decline (`churn_decline`: fewer trades,
  more tickets over CHURN_DECLINE_DAYS) and stops trading on d + CHURN_DECLINE_DAYS + 1; 40%
  come back after the scale's gap, as before.

Some churn has no visible cause (a move, a life event): `users.py` still draws a smaller share
of churners at a random day up front (BACKGROUND_CHURN_SHARE), announced only by the decline.
Everything is seeded (streams "engagement" and "churn_hazard" per day), so the same seed and
scale give the same files.
"""

from __future__ import annotations

import numpy as np

from .codes import (
    CHURN_DECLINE_DAYS,
    CHURN_DECLINE_FLOOR,
    PAIR_PRICE_DECIMALS,
    PAIR_QTY_DECIMALS,
    PAIR_QUOTE,
)
from .config import DAY, UNIT

NO_CHURN = 10**6  # churn_day / return_day of a user who has not churned

# Engagement: log-multiplier of the chance to trade, AR(1) with this daily persistence and
# stationary standard deviation (so a fade lasts weeks; mean-preserving on average).
ENGAGEMENT_PERSISTENCE = 0.95
ENGAGEMENT_SD = 0.6

# Trend windows: exponentially weighted trade-day rates with these spans (days).
FAST_SPAN_DAYS = 7
SLOW_SPAN_DAYS = 30

# The hazard: BASE_HAZARD per day times exp(sum of weight * signal), capped at MAX_HAZARD.
BASE_HAZARD = 0.003
MAX_HAZARD = 0.25
WEIGHT_ACTIVITY_DECLINE = 2.2  # 1 - fast/slow trade-day rate, in [0, 1]
WEIGHT_TICKETS = 0.45  # tickets filed in the last ~30 days (at most 3 count)
WEIGHT_UNRESOLVED = 0.7  # tickets open for more than two days now (at most 2 count)
WEIGHT_LOSS = 0.9  # trading loss of the last ~30 days / usual order size (at most 2 count)
WEIGHT_REJECTED_WITHDRAWAL = 1.0  # failed withdrawals in the last ~30 days (at most 2 count)
WEIGHT_RECENT_DEPOSIT = -0.6  # a deposit in the last RECENT_DEPOSIT_DAYS days
WEIGHT_TIER = -0.45  # per tier above Basic
RECENT_DEPOSIT_DAYS = 14
UNRESOLVED_AFTER_DAYS = 2


class Churn:
    """Mixin of `Simulator` (engine.py): engagement, observed behaviour, the churn hazard."""

    def setup_churn(self) -> None:
        """Per-user behaviour state; after `setup_users` (own stream: other draws unchanged)."""
        n = self.n_users
        rng = self.rng("engagement")
        self.engagement = rng.normal(0.0, ENGAGEMENT_SD, n)
        expected = np.clip(self.p_act, 0, 1)
        self.trade_rate_fast = expected.copy()
        self.trade_rate_slow = expected.copy()
        self.tickets_recent = np.zeros(n)
        self.loss_recent_usd = np.zeros(n)
        self.rejected_withdrawals_recent = np.zeros(n)
        self.ticket_user = np.zeros(0, np.int64)  # every ticket filed: user, day, resolved day
        self.ticket_day = np.zeros(0, np.int64)
        self.ticket_resolved_day = np.zeros(0, np.int64)
        self.failed_withdrawal_users = np.zeros(0, np.int64)

    def engagement_factor(self) -> np.ndarray:
        """Today's multiplier on each user's chance to trade (1 on average)."""
        return np.exp(self.engagement - ENGAGEMENT_SD**2 / 2)

    def churn_decline(self, d: int) -> np.ndarray:
        """Per user, the factor on the chance to trade on day d: churn is announced by behaviour.

        In the CHURN_DECLINE_DAYS days before a churner's last day the chance to trade falls
        linearly from 1 to CHURN_DECLINE_FLOOR (fewer fills and logins: a falling trend), and
        `support_tickets` opens extra tickets for them (frustration). Draws no random numbers.
        """
        to_go = self.churn_day - d  # days until the break starts; <= 0 once it has
        in_decline = (to_go > 0) & (to_go <= CHURN_DECLINE_DAYS)
        slope = (1.0 - CHURN_DECLINE_FLOOR) / CHURN_DECLINE_DAYS
        return np.where(in_decline, CHURN_DECLINE_FLOOR + slope * (to_go - 1), 1.0)

    # ------------------------------------------------------------------ observations
    def observe_withdrawals(self, users: np.ndarray) -> None:
        """Users whose withdrawal failed today (called by the ledger)."""
        self.failed_withdrawal_users = np.asarray(users, np.int64)

    def observe_tickets(self, d: int, users, resolved_day) -> None:
        """Tickets filed today and the day each is solved or closed (NO_CHURN: never)."""
        self.ticket_user = np.concatenate([self.ticket_user, users]).astype(np.int64)
        self.ticket_day = np.concatenate([self.ticket_day, np.full(len(users), d)])
        self.ticket_resolved_day = np.concatenate([self.ticket_resolved_day, resolved_day])
        self.tickets_recent += np.bincount(users, minlength=self.n_users)

    def _trading_loss_usd(self, d: int, fills: dict) -> np.ndarray:
        """Per user, the day's trading result marked to the day's last minute, fees included,
        in USD, as a loss (positive) or gain (negative)."""
        pair = fills["pair"]
        close_minute = self.minute(np.full(pair.size, self.day_start(d) + DAY - 1))
        close = self.pair_px[pair, close_minute]
        price = fills["price"] / 10.0 ** PAIR_PRICE_DECIMALS[pair]
        qty = fills["qty"] / 10.0 ** PAIR_QTY_DECIMALS[pair]
        direction = np.where(fills["sell"] == 1, -1.0, 1.0)  # a buy gains when the price rises
        quote_usd = self.usd_px[PAIR_QUOTE[pair], close_minute]
        result_usd = (direction * qty * (close - price) - fills["fee"] / UNIT) * quote_usd
        return -np.bincount(fills["user"], weights=result_usd, minlength=self.n_users)

    # ------------------------------------------------------------------ the hazard
    def end_of_day_churn(self, d: int, trading: dict) -> None:
        """Update what each user lived through today, draw who starts to churn, and move
        engagement on to tomorrow."""
        self._observe_day(d, trading["fills"])
        at_risk, hazard = self.churn_hazard(d)
        self.tickets_recent *= 1.0 - 1.0 / SLOW_SPAN_DAYS
        rng = self.rng("churn_hazard", d)
        starts = np.flatnonzero(at_risk & (rng.random(self.n_users) < hazard))
        self.churn_day[starts] = d + CHURN_DECLINE_DAYS + 1
        self.return_day[starts] = np.where(
            self.comes_back[starts], self.churn_day[starts] + self.return_gap[starts], NO_CHURN
        )
        # engagement moves on (mean-reverting random walk in log space)
        step_sd = ENGAGEMENT_SD * np.sqrt(1.0 - ENGAGEMENT_PERSISTENCE**2)
        walk = self.rng("engagement", d)
        self.engagement = ENGAGEMENT_PERSISTENCE * self.engagement + walk.normal(
            0.0, step_sd, self.n_users
        )

    def _observe_day(self, d: int, fills: dict) -> None:
        """Fold day d's trade days, trading result and failed withdrawals into the running
        (exponentially weighted) per-user signals."""
        n = self.n_users
        traded = np.zeros(n)
        traded[np.unique(fills["user"])] = 1.0
        fast, slow = 2.0 / (FAST_SPAN_DAYS + 1), 2.0 / (SLOW_SPAN_DAYS + 1)
        self.trade_rate_fast += fast * (traded - self.trade_rate_fast)
        self.trade_rate_slow += slow * (traded - self.trade_rate_slow)
        decay = 1.0 - 1.0 / SLOW_SPAN_DAYS
        self.loss_recent_usd = self.loss_recent_usd * decay + self._trading_loss_usd(d, fills)
        self.rejected_withdrawals_recent = self.rejected_withdrawals_recent * decay + np.bincount(
            self.failed_withdrawal_users, minlength=n
        )
        self.failed_withdrawal_users = np.zeros(0, np.int64)

    def churn_hazard(self, d: int) -> tuple[np.ndarray, np.ndarray]:
        """(at risk, hazard) per user at the end of day d: who can start to churn (traders
        who have not churned) and the chance that they do, from the signals so far."""
        n = self.n_users
        de = self.day_start(d) + DAY
        waiting = (self.ticket_day <= d - UNRESOLVED_AFTER_DAYS) & (self.ticket_resolved_day > d)
        unresolved = np.bincount(self.ticket_user[waiting], minlength=n)
        at_risk = (
            (self.churn_day == NO_CHURN)
            & (self.kyc == 1)
            & ~self.never
            & ~self.reserved
            & (self.first_day <= d)
            & (self.suspend_us >= de)
            & (self.close_us >= de)
        )
        decline = np.clip(
            1.0 - self.trade_rate_fast / np.maximum(self.trade_rate_slow, 1e-9), 0.0, 1.0
        )
        loss = np.clip(self.loss_recent_usd / np.maximum(self.notional, 1.0), 0.0, 2.0)
        tier = self.tier_at(np.arange(n), np.full(n, de))
        recent_deposit = self.funded_day >= d - RECENT_DEPOSIT_DAYS
        score = (
            WEIGHT_ACTIVITY_DECLINE * decline
            + WEIGHT_TICKETS * np.minimum(self.tickets_recent, 3.0)
            + WEIGHT_UNRESOLVED * np.minimum(unresolved, 2)
            + WEIGHT_LOSS * loss
            + WEIGHT_REJECTED_WITHDRAWAL * np.minimum(self.rejected_withdrawals_recent, 2.0)
            + WEIGHT_RECENT_DEPOSIT * recent_deposit
            + WEIGHT_TIER * (tier - 1)
        )
        return at_risk, np.minimum(BASE_HAZARD * np.exp(score), MAX_HAZARD)
