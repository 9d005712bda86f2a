"""The lifecycle marts (models/marts/lifecycle) agree with docs/kpis.md recomputed in pandas
from the fills of marts.fct_trades, on the tiny scale: retention by first-trade cohort, the
weekly and monthly cohort tables, the funnel, churn-risk indicators and segments."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest

DAY = dt.timedelta(days=1)


@pytest.fixture(scope="module")
def warehouse(tiny_warehouse):
    con = duckdb.connect(str(tiny_warehouse.warehouse), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def fill_days(warehouse) -> pd.DataFrame:
    """One row per user and day with a fill, with the day's notional in USD."""
    trades = warehouse.execute(
        "select user_id, executed_at, notional_usd from marts.fct_trades"
    ).df()
    trades["trade_date"] = pd.to_datetime(trades["executed_at"]).dt.date
    return trades.groupby(["user_id", "trade_date"], as_index=False)["notional_usd"].sum()


@pytest.fixture(scope="module")
def last_day(warehouse) -> dt.date:
    return warehouse.execute("select max(date_day) from marts.dim_dates").fetchone()[0]


def mart(warehouse, name: str) -> pd.DataFrame:
    return warehouse.execute(f"select * from marts.{name}").df()


def test_retention_by_first_trade_cohort(warehouse, fill_days, last_day):
    first = fill_days.groupby("user_id")["trade_date"].min().rename("cohort_date")
    days = fill_days.join(first, on="user_id")
    offset = (pd.to_datetime(days["trade_date"]) - pd.to_datetime(days["cohort_date"])).dt.days
    days["in_7d"] = offset.between(1, 7)
    days["in_30d"] = offset.between(1, 30)
    per_user = days.groupby(["user_id", "cohort_date"], as_index=False)[["in_7d", "in_30d"]].any()
    expected = per_user.groupby("cohort_date").agg(
        cohort_size=("user_id", "count"),
        retained_7d=("in_7d", "sum"),
        retained_30d=("in_30d", "sum"),
    )
    actual = mart(warehouse, "fct_retention_cohorts_daily")
    actual["cohort_date"] = pd.to_datetime(actual["cohort_date"]).dt.date
    actual = actual.set_index("cohort_date")
    assert len(expected) > 0
    # Days without new traders are zero-filled, every other day matches.
    assert (actual.drop(expected.index)["cohort_size"] == 0).all()
    for cohort_date, row in expected.iterrows():
        got = actual.loc[cohort_date]
        assert (got["cohort_size"], got["retained_7d"], got["retained_30d"]) == (
            row["cohort_size"],
            row["retained_7d"],
            row["retained_30d"],
        ), cohort_date
        mature_7d = cohort_date + 7 * DAY <= last_day
        if mature_7d:
            assert got["retention_7d_rate"] == pytest.approx(
                row["retained_7d"] / row["cohort_size"]
            )
        else:
            assert pd.isna(got["retention_7d_rate"])
        if cohort_date + 30 * DAY > last_day:
            assert pd.isna(got["retention_30d_rate"])
    first_time = mart(warehouse, "fct_daily_exchange_kpis").set_index("kpi_date")[
        "first_time_traders"
    ]
    first_time.index = pd.to_datetime(first_time.index).date
    assert actual["cohort_size"].sum() == first_time.sum() == len(first)


@pytest.mark.parametrize(
    "grain, model",
    [("W-SUN", "fct_retention_cohorts_weekly"), ("M", "fct_retention_cohorts_monthly")],
)
def test_cohort_tables(warehouse, fill_days, grain, model):
    days = fill_days.copy()
    period = pd.to_datetime(days["trade_date"]).dt.to_period(grain).dt.start_time.dt.date
    days["period"] = period
    cohort = days.groupby("user_id")["period"].min().rename("cohort")
    days = days.join(cohort, on="user_id")
    expected = days.groupby(["cohort", "period"])["user_id"].nunique()
    sizes = cohort.value_counts()
    actual = mart(warehouse, model)
    for column in ["cohort_period_start_date", "period_start_date"]:
        actual[column] = pd.to_datetime(actual[column]).dt.date
    actual = actual.set_index(["cohort_period_start_date", "period_start_date"])
    for (cohort_start, period_start), users in expected.items():
        row = actual.loc[(cohort_start, period_start)]
        assert row["active_users"] == users
        assert row["cohort_size"] == sizes[cohort_start]
        assert row["active_share"] == pytest.approx(users / sizes[cohort_start])
    assert (actual[actual["periods_since_first_trade"] == 0]["active_share"] == 1.0).all()
    assert actual["active_users"].sum() == expected.sum()


def test_funnel_counts_every_registered_user(warehouse):
    users = mart(warehouse, "dim_users")
    users = users[users["registration_date"].notna()]
    funnel = mart(warehouse, "fct_registration_funnel_monthly")
    assert funnel["registered"].sum() == len(users)
    approved = users["kyc_status"] == "approved"
    assert funnel["kyc_approved"].sum() == approved.sum()
    assert funnel["first_traded"].sum() == (approved & users["first_trade_date"].notna()).sum()
    with_registrations = funnel[funnel["registered"] > 0]
    assert with_registrations["registration_to_kyc_pct"].between(0, 100).all()
    assert funnel[funnel["kyc_approved"] == 0]["kyc_to_first_trade_pct"].isna().all()


def test_churn_risk_indicators(warehouse, fill_days, last_day):
    risk = mart(warehouse, "fct_user_churn_risk").set_index("user_id")
    assert set(risk.index) == set(fill_days["user_id"])
    tickets = warehouse.execute(
        "select user_id, created_at from staging.stg_exchange__support_tickets"
    ).df()
    tickets["day"] = pd.to_datetime(tickets["created_at"]).dt.date
    recent = tickets[(tickets["day"] >= last_day - 29 * DAY) & (tickets["day"] <= last_day)]
    ticket_counts = recent.groupby("user_id").size()
    for user_id, days in fill_days.groupby("user_id"):
        row = risk.loc[user_id]
        days_since = (last_day - days["trade_date"].max()).days
        current = days[days["trade_date"] >= last_day - 29 * DAY]["notional_usd"].sum()
        prior = days[
            (days["trade_date"] >= last_day - 59 * DAY)
            & (days["trade_date"] <= last_day - 30 * DAY)
        ]["notional_usd"].sum()
        change = 100 * (current - prior) / prior if prior > 0 else None
        n_tickets = int(ticket_counts.get(user_id, 0))
        level = (
            "high" if change is not None and change < -50 else "medium" if days_since > 7 else "low"
        )
        assert row["days_since_last_trade"] == days_since
        assert row["volume_30d_usd"] == pytest.approx(current)
        if change is None:
            assert pd.isna(row["volume_change_pct"])
        else:
            assert row["volume_change_pct"] == pytest.approx(change)
        assert row["support_tickets_30d"] == n_tickets
        assert bool(row["needs_attention"]) == (n_tickets > 2)
        assert row["churn_risk_level"] == level, user_id


def test_segments_cover_every_user(warehouse):
    segments = mart(warehouse, "dim_user_segments").set_index("user_id")
    users = mart(warehouse, "dim_users").set_index("user_id")
    activity = mart(warehouse, "dim_user_trading_activity").set_index("user_id")
    assert set(segments.index) == set(users.index)
    traded = segments["first_trade_date"].notna()
    assert (segments.loc[~traded, "lifecycle_stage"] == "not_traded").all()
    churned = segments[segments["lifecycle_stage"] == "churned"].index
    assert set(churned) == set(activity[activity["is_churned"]].index)
    at_risk = segments[segments["lifecycle_stage"] == "at_risk"]
    assert at_risk["churn_risk_level"].isin(["high", "medium"]).all()
    stages_low = segments[segments["lifecycle_stage"].isin(["new", "active", "won_back"])]
    assert (stages_low["churn_risk_level"] == "low").all()
    assert (
        segments.loc[segments["volume_30d_usd"] + segments["revenue_30d_usd"] == 0, "value_band"]
        == "none"
    ).all()


def test_planted_attention_users_need_attention(warehouse, tiny_warehouse):
    planted = pd.read_csv(
        tiny_warehouse.landing / "_simulator" / "planted_cases.csv",
        dtype=str,
        keep_default_na=False,
    )
    users = planted[planted["rule"] == "support_tickets_attention"]["user_id"]
    if users.empty:
        pytest.skip("the tiny scale plants no support-ticket cases")
    segments = mart(warehouse, "dim_user_segments").set_index("user_id")
    assert segments.loc[list(users), "needs_attention"].all()


def test_kpi_anomalies_score_every_day_and_metric(warehouse):
    anomalies = mart(warehouse, "fct_kpi_anomalies")
    days = warehouse.execute("select count(*) from marts.dim_dates").fetchone()[0]
    assert len(anomalies) == days * anomalies["metric_name"].nunique()
    assert anomalies["metric_name"].nunique() == 13
    flagged = anomalies[anomalies["is_anomaly"]]
    assert (flagged["history_days"] >= 7).all()
    assert (
        (flagged["metric_value"] < flagged["band_lower"])
        | (flagged["metric_value"] > flagged["band_upper"])
    ).all()
    assert np.isfinite(anomalies["robust_z_score"].dropna()).all()
