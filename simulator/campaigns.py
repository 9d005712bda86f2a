"""Retention campaigns with a random control group and a planted effect (issue 20, item 2).

A campaign targets a set of traders on one day with an action. Its members are split at random
into a treatment group (contacted) and a control group (not contacted). The simulator then
decides, per member, whether the member trades at least once in the `RETENTION_DAYS` days from
the campaign day: with probability `p_control` in the control group and `p_control + effect` in
the treatment group. A retained member trades on one forced day of that window (besides its
usual activity); a member not retained does not trade at all in the window. The true effect of
the campaign on "retained within RETENTION_DAYS days" is therefore exactly `effect`, and the
warehouse's measured uplift (marts.fct_campaign_results) must recover it within its interval.

The members are written as the landing table `marketing_campaigns` on the campaign day; the
planted effects to `_simulator/campaign_truth.csv` (never loaded: the tests read it).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

import numpy as np

from .config import ENTITY, MIN
from .writer import Uuid, cat

RETENTION_DAYS = 7  # the dbt var campaign_retention_days must agree (dbt_project.yml)
MAX_USER_SHARE = 0.2  # tiny scale: 40 of 200 users (at 2,000 users and up: max_members)
FIRST_DAY = 3  # no campaign before the window's fourth day: members must have had time to trade
GROUPS = ("treatment", "control")
ACTIONS = ("win_back_offer", "retention_attention", "tier_upgrade_nudge")
TRUTH_COLUMNS = (
    "campaign_id",
    "campaign_name",
    "action",
    "targeted_date",
    "retention_days",
    "p_control",
    "planted_effect",
    "treatment_users",
    "control_users",
    "treatment_retained",
    "control_retained",
)


@dataclass(frozen=True)
class CampaignSpec:
    name: str
    action: str
    day_fraction: float  # campaign day, a fraction of the window (RETENTION_DAYS before its end)
    p_control: float  # probability that a control member trades within RETENTION_DAYS
    effect: float  # added to it for the treatment group: the planted uplift
    min_days: int = 0  # runs only in windows of at least this many days
    max_members: int = 150  # of the eligible traders (campaigns never share a user), and at
    # most MAX_USER_SHARE of all users: the members kept from trading must not empty a day


# At tiny scale (10 days) one campaign of 40 traders with a large effect (0.50 -> 0.95), so its
# interval excludes 0; from small scale on, a campaign with no effect (its interval should
# hold 0) and one with a moderate effect follow. Control rates are high so that few members
# are kept from trading (the days of the window stay close to their usual activity).
CAMPAIGNS = (
    CampaignSpec("winback_wave_1", "win_back_offer", 0.1, 0.50, 0.45),
    CampaignSpec("attention_placebo", "retention_attention", 0.1, 0.70, 0.0, min_days=20),
    CampaignSpec("upgrade_nudge", "tier_upgrade_nudge", 0.15, 0.50, 0.20, min_days=20),
)


@dataclass
class Campaign:
    spec: CampaignSpec
    ctr: int
    day: int
    users: np.ndarray
    treated: np.ndarray  # bool per member
    retained: np.ndarray  # bool per member
    forced_day: np.ndarray  # day index of the forced fill of a retained member


class CampaignPlan:
    """Chooses the campaigns' members up front (own random stream) and steers their activity."""

    def __init__(self, sim):
        self.sim = sim
        self.campaigns: list[Campaign] = []
        D = sim.n_days
        if D < RETENTION_DAYS + 2:
            return
        rng = sim.rng("campaigns")
        taken = np.zeros(sim.n_users, dtype=bool)
        for i, spec in enumerate(CAMPAIGNS):
            if spec.min_days > D:
                continue
            # early in the window: the trailing baselines of the planted KPI anomalies (small
            # scale: days 16 and 23) stay clear of the weeks the members are steered
            c = min(max(FIRST_DAY, sim.day_at_fraction(spec.day_fraction)), D - RETENTION_DAYS)
            window_end = sim.day_start(c + RETENTION_DAYS)
            # traders already trading by the campaign day who stay able to trade all window long
            ok = (
                (sim.kyc == 1)
                & ~sim.never
                & ~sim.reserved
                & ~taken
                & (sim.approved + 10 * MIN < sim.day_start(c) - 2 * 60 * MIN)
                & (sim.first_day <= c)
                & (sim.suspend_us >= window_end)
                & (sim.close_us >= window_end)
            )
            cand = np.flatnonzero(ok)
            n = min(cand.size, spec.max_members, int(round(MAX_USER_SHARE * sim.n_users)))
            users = np.sort(rng.permutation(cand)[:n])
            taken[users] = True
            treated = np.zeros(n, dtype=bool)
            treated[rng.permutation(n)[: n // 2 + n % 2]] = True
            p = spec.p_control + spec.effect * treated
            retained = rng.random(n) < p
            forced = c + rng.integers(0, RETENTION_DAYS, n)
            self.campaigns.append(Campaign(spec, i + 1, c, users, treated, retained, forced))

    def campaign_id(self, c: Campaign) -> str:
        return f"cmp-{self.sim.date_of(c.day).isoformat()}-{c.ctr:02d}-{c.spec.name}"

    def steer(self, d: int, elig: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Day d's eligibility and activity probability with the campaign windows applied."""
        for c in self.campaigns:
            if not (c.day <= d < c.day + RETENTION_DAYS):
                continue
            elig, p = elig.copy(), p.copy()
            blocked = c.users[~c.retained]
            elig[blocked] = False
            forced = c.users[c.retained & (c.forced_day == d)]
            elig[forced] = True
            p[forced] = 1.0
        return elig, p

    def blocked(self, d: int) -> np.ndarray:
        """Users who must not trade on day d (members not retained, inside their window)."""
        out = [c.users[~c.retained] for c in self.campaigns if c.day <= d < c.day + RETENTION_DAYS]
        return np.concatenate(out) if out else np.zeros(0, np.int64)

    def write_members(self, d: int) -> None:
        """The landing file of day d's campaigns (contract table marketing_campaigns)."""
        todays = [c for c in self.campaigns if c.day == d]
        if not todays:
            return
        sim = self.sim
        users = np.concatenate([c.users for c in todays])
        group = np.concatenate([np.where(c.treated, 0, 1) for c in todays])
        idx = np.concatenate([np.full(c.users.size, k) for k, c in enumerate(todays)])
        ids = [self.campaign_id(c) for c in todays]
        # sent at 09:00 UTC on the campaign day, one second apart per member
        at = sim.day_start(d) + 9 * 60 * MIN + np.arange(users.size, dtype=np.int64) * 1_000_000
        sim.writer.write(
            "marketing_campaigns",
            sim.label(d),
            {
                "campaign_id": cat(idx, ids),
                "campaign_name": cat(idx, [c.spec.name for c in todays]),
                "action": cat(idx, [c.spec.action for c in todays]),
                "user_id": Uuid(users.astype(np.int64), ENTITY["user"]),
                "campaign_group": cat(group, GROUPS),
                "targeted_at": at,
            },
            d,
        )

    def write_truth(self, path) -> int:
        """`_simulator/campaign_truth.csv`: the planted effect and what it drew, per campaign."""
        rows = []
        for c in self.campaigns:
            if c.day + RETENTION_DAYS - 1 > self.sim.last_day:
                continue  # its window is not complete in the days written (--until)
            rows.append(
                {
                    "campaign_id": self.campaign_id(c),
                    "campaign_name": c.spec.name,
                    "action": c.spec.action,
                    "targeted_date": self.sim.date_of(c.day).isoformat(),
                    "retention_days": RETENTION_DAYS,
                    "p_control": c.spec.p_control,
                    "planted_effect": c.spec.effect,
                    "treatment_users": int(c.treated.sum()),
                    "control_users": int((~c.treated).sum()),
                    "treatment_retained": int((c.treated & c.retained).sum()),
                    "control_retained": int((~c.treated & c.retained).sum()),
                }
            )
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=TRUTH_COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        return len(rows)


__all__ = ["CAMPAIGNS", "RETENTION_DAYS", "CampaignPlan"]
