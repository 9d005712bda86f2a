"""Retention campaigns (issue 20, item 2): the simulator plants a known effect with a random
control group (simulator/campaigns.py); marts.fct_campaign_results must measure the
success rate (retained / targeted) and recover the planted uplift within its 95% interval.

Runs on the shared tiny build (conftest.tiny_warehouse); the planted effects are in the
landing's `_simulator/campaign_truth.csv`.
"""

from __future__ import annotations

import math

import duckdb
import pandas as pd
import pytest

from ingestion.contract import TABLES
from simulator.campaigns import RETENTION_DAYS

Z = 1.959964


@pytest.fixture(scope="module")
def truth(tiny_landing) -> pd.DataFrame:
    frame = pd.read_csv(tiny_landing / "_simulator" / "campaign_truth.csv")
    assert not frame.empty, "the tiny simulation ran no campaign"
    return frame.set_index("campaign_id")


@pytest.fixture(scope="module")
def results(tiny_warehouse) -> pd.DataFrame:
    con = duckdb.connect(str(tiny_warehouse.warehouse), read_only=True)
    try:
        return con.sql("select * from marts.fct_campaign_results").df().set_index("campaign_id")
    finally:
        con.close()


def wilson(successes: int, n: int) -> tuple[float, float]:
    p = successes / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return centre - half, centre + half


def newcombe(x1: int, n1: int, x0: int, n0: int) -> tuple[float, float]:
    """Newcombe (1998) method 10, written independently of the SQL."""
    p1, p0 = x1 / n1, x0 / n0
    l1, u1 = wilson(x1, n1)
    l0, u0 = wilson(x0, n0)
    d = p1 - p0
    return d - math.hypot(p1 - l1, u0 - p0), d + math.hypot(u1 - p1, p0 - l0)


def test_landing_members_follow_the_contract_and_are_split_at_random(tiny_landing, truth):
    files = sorted((tiny_landing / "marketing_campaigns").glob("*.csv"))
    assert files, "no marketing_campaigns landing file"
    members = pd.concat(pd.read_csv(f) for f in files)
    assert list(members.columns) == TABLES["marketing_campaigns"].column_names
    assert not members.duplicated(["campaign_id", "user_id"]).any()
    # a user is in one campaign at most: the groups of two campaigns never mix
    assert not members.duplicated("user_id").any()
    sizes = members.groupby(["campaign_id", "campaign_group"]).size().unstack()
    for campaign_id, row in truth.iterrows():
        assert sizes.loc[campaign_id, "treatment"] == row.treatment_users
        assert sizes.loc[campaign_id, "control"] == row.control_users
        assert abs(row.treatment_users - row.control_users) <= 1  # a random half each


def test_measured_retention_is_what_the_simulator_drew(truth, results):
    """Each member retained by the simulator, and only those, has a fill in the window."""
    assert set(results.index) == set(truth.index)
    for campaign_id, row in truth.iterrows():
        got = results.loc[campaign_id]
        assert got.retention_days == RETENTION_DAYS == row.retention_days
        assert bool(got.is_window_complete)
        assert (got.targeted_users, got.retained_users) == (
            row.treatment_users,
            row.treatment_retained,
        )
        assert (got.control_users, got.control_retained_users) == (
            row.control_users,
            row.control_retained,
        )
        # the design document's Campaign Success = retained / targeted
        assert got.success_rate == pytest.approx(row.treatment_retained / row.treatment_users)


def test_uplift_interval_recovers_the_planted_effect(truth, results):
    for campaign_id, row in truth.iterrows():
        got = results.loc[campaign_id]
        assert got.uplift_ci_lower <= row.planted_effect <= got.uplift_ci_upper, (
            f"{campaign_id}: planted {row.planted_effect} outside "
            f"[{got.uplift_ci_lower:.3f}, {got.uplift_ci_upper:.3f}]"
        )
        if row.planted_effect >= 0.4:  # large enough for the tiny campaign's ~25 per group
            assert got.uplift_ci_lower > 0 and got.uplift_verdict == "positive"
        elif row.planted_effect == 0:
            assert got.uplift_verdict == "inconclusive"


def test_uplift_interval_is_newcombes(results):
    for _, got in results.iterrows():
        lower, upper = newcombe(
            got.retained_users, got.targeted_users, got.control_retained_users, got.control_users
        )
        assert got.uplift == pytest.approx(
            got.retained_users / got.targeted_users - got.control_retained_users / got.control_users
        )
        assert (got.uplift_ci_lower, got.uplift_ci_upper) == pytest.approx((lower, upper))


def test_newcombe_matches_a_published_example():
    """Newcombe (1998), Table II example (56/70 vs 48/80): interval 0.0524 to 0.3339."""
    lower, upper = newcombe(56, 70, 48, 80)
    assert (round(lower, 4), round(upper, 4)) == (0.0524, 0.3339)
