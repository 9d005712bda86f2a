"""Churn prediction: will an active trader make no fill in the next H days?

Features are rebuilt *as of a cutoff day C* from `marts.fct_user_daily_activity` (rows on or
before C only) and `marts.dim_users`, so the same code serves training, backtesting and
scoring without look-ahead. The label of a user active on C (a fill in [C - 29, C]) is
"churned": no fill in [C + 1, C + H]. H is 30 days (SPEC section 4: churned = no fill for 30
days) when the data are long enough, else the longest horizon that fits (see `plan_cutoffs`).

Backtest (time-based split): train on cutoff C1, evaluate on C2 = C1 + H, whose label window
[C2 + 1, C2 + H] ends on the last day of data E. C1's labels are all known by C2, as they
would be in production. The production model is refitted on C2 (the latest cutoff with a known
label) and scores every user active on E; `write_predictions` replaces
`marts.fct_churn_predictions` in one transaction.

This is an orchestrated Python step, not a dbt Python model: dbt-postgres has no Python
models, and the backtest needs features at several cutoffs in one process.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, field

import duckdb
import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

MODEL_NAME = "churn-logreg"
MODEL_RELEASE = "1.0"
PREFERRED_HORIZON_DAYS = 30
MIN_HISTORY_DAYS = 10
MIN_HORIZON_DAYS = 3
ACTIVE_WINDOW_DAYS = 30
TOP_FRACTION = 0.10
PREDICTIONS_TABLE = "marts.fct_churn_predictions"

FEATURES = [
    "days_since_last_trade",
    "tenure_days",
    "days_since_registration",
    "trade_days_7d",
    "trade_days_14d",
    "trade_days_30d",
    "trade_day_share_30d",
    "trade_days_total",
    "recency_ratio",
    "fills_7d",
    "fills_30d",
    "log_volume_7d_usd",
    "log_volume_30d_usd",
    "volume_trend_7d",
    "log_fees_30d_usd",
    "log_volume_per_fill_usd",
    "support_tickets_7d",
    "support_tickets_30d",
    "tier_id",
    "kyc_level",
    "is_referred",
]

FEATURE_SQL = """
with

activity as (

    select * from marts.fct_user_daily_activity
    where activity_date <= $cutoff

),

per_user as (

    select
        user_id,
        min(case when has_fill then activity_date end) as first_fill_date,
        max(case when has_fill then activity_date end) as last_fill_date,
        count(case when has_fill then 1 end) as trade_days_total,
        count(case when has_fill and activity_date > $cutoff - 7 then 1 end) as trade_days_7d,
        count(case when has_fill and activity_date > $cutoff - 14 then 1 end) as trade_days_14d,
        count(case when has_fill and activity_date > $cutoff - 30 then 1 end) as trade_days_30d,
        sum(case when activity_date > $cutoff - 7 then fill_count else 0 end) as fills_7d,
        sum(case when activity_date > $cutoff - 30 then fill_count else 0 end) as fills_30d,
        sum(case when activity_date > $cutoff - 7 then notional_usd else 0 end) as volume_7d_usd,
        sum(case when activity_date > $cutoff - 14 and activity_date <= $cutoff - 7
            then notional_usd else 0 end) as volume_prev_7d_usd,
        sum(case when activity_date > $cutoff - 30 then notional_usd else 0 end) as volume_30d_usd,
        sum(case when activity_date > $cutoff - 30 then fee_usd else 0 end) as fees_30d_usd,
        sum(case when activity_date > $cutoff - 7 then support_tickets_opened else 0 end)
            as support_tickets_7d,
        sum(case when activity_date > $cutoff - 30 then support_tickets_opened else 0 end)
            as support_tickets_30d
    from activity
    group by user_id

)

select
    per_user.*,
    users.registration_date,
    users.tier_id,
    users.kyc_level,
    users.is_referred
from per_user
left join marts.dim_users as users
    on per_user.user_id = users.user_id
-- The population: users active on the cutoff day (a fill in [C - 29, C]).
where per_user.last_fill_date > $cutoff - 30
"""

LABEL_SQL = """
select distinct user_id
from marts.fct_user_daily_activity
where has_fill
    and activity_date > $cutoff
    and activity_date <= $cutoff + $horizon
"""


class NotEnoughHistory(ValueError):
    """The warehouse holds too few days of data for a backtest."""


@dataclass(frozen=True)
class CutoffPlan:
    first_date: dt.date
    last_date: dt.date
    horizon_days: int
    train_cutoff: dt.date
    eval_cutoff: dt.date

    @property
    def is_proxy_horizon(self) -> bool:
        return self.horizon_days < PREFERRED_HORIZON_DAYS

    @property
    def note(self) -> str:
        days = (self.last_date - self.first_date).days + 1
        if not self.is_proxy_horizon:
            return f"{days} days of data: the 30-day churn label of SPEC section 4."
        return (
            f"only {days} days of data: the label is 'no fill in the next {self.horizon_days} "
            f"days', a short-horizon proxy of 30-day churn (a 30-day label needs at least "
            f"{2 * PREFERRED_HORIZON_DAYS + MIN_HISTORY_DAYS} days; the medium scale has 90)."
        )


def plan_cutoffs(
    first_date: dt.date,
    last_date: dt.date,
    preferred_horizon_days: int = PREFERRED_HORIZON_DAYS,
    min_history_days: int = MIN_HISTORY_DAYS,
    min_horizon_days: int = MIN_HORIZON_DAYS,
) -> CutoffPlan:
    """Pick the train and evaluation cutoffs and the label horizon H for a span of data.

    eval_cutoff = last_date - H and train_cutoff = eval_cutoff - H, so the evaluation labels
    end on the last day and the training labels are known by the evaluation cutoff. The train
    cutoff keeps at least min_history_days of data (a third of the span when the span is
    short) on or before it. H = the preferred horizon when that fits, else the longest that does.
    """
    span = (last_date - first_date).days + 1
    history = min(min_history_days, max(1, span // 3))
    horizon = min(preferred_horizon_days, (span - history) // 2)
    if horizon < min_horizon_days:
        raise NotEnoughHistory(
            f"{span} days of data ({first_date} to {last_date}): a backtest needs at least "
            f"{1 + 2 * min_horizon_days} days"
        )
    eval_cutoff = last_date - dt.timedelta(days=horizon)
    train_cutoff = eval_cutoff - dt.timedelta(days=horizon)
    return CutoffPlan(first_date, last_date, horizon, train_cutoff, eval_cutoff)


def data_bounds(con: duckdb.DuckDBPyConnection) -> tuple[dt.date, dt.date]:
    """The first day of trading data (fills, orders, fee collections) and the last day of data.
    The date spine may start earlier, at the first registration (SPEC section 4); days with
    registrations only are no trading history to cut features from."""
    first, last = con.execute(
        "select min(case when has_trading_started then date_day end), max(date_day)"
        " from marts.dim_dates"
    ).fetchone()
    if first is None:
        raise NotEnoughHistory(
            "marts.dim_dates has no day of trading data: build the warehouse first"
        )
    return first, last


def build_features(con: duckdb.DuckDBPyConnection, cutoff: dt.date) -> pd.DataFrame:
    """One row per user active on `cutoff`, with the model's features as of that day."""
    frame = con.execute(FEATURE_SQL, {"cutoff": cutoff}).df()
    frame = frame.sort_values("user_id", kind="stable").reset_index(drop=True)
    cutoff_ts = pd.Timestamp(cutoff)
    frame["days_since_last_trade"] = (cutoff_ts - pd.to_datetime(frame["last_fill_date"])).dt.days
    frame["tenure_days"] = (cutoff_ts - pd.to_datetime(frame["first_fill_date"])).dt.days
    frame["days_since_registration"] = (
        cutoff_ts - pd.to_datetime(frame["registration_date"])
    ).dt.days
    # Share of the days the user could have traded in the last 30 (fewer for a new trader).
    frame["trade_day_share_30d"] = frame["trade_days_30d"] / np.minimum(
        ACTIVE_WINDOW_DAYS, frame["tenure_days"] + 1
    )
    # Days since the last fill against the user's usual spacing of fill days: 1 = on schedule.
    usual_gap = (frame["tenure_days"] + 1) / frame["trade_days_total"].clip(lower=1)
    frame["recency_ratio"] = frame["days_since_last_trade"] / usual_gap
    for column in ["volume_7d_usd", "volume_30d_usd", "fees_30d_usd"]:
        frame[f"log_{column}"] = np.log1p(frame[column].astype(float).clip(lower=0))
    frame["volume_trend_7d"] = np.log1p(
        frame["volume_7d_usd"].astype(float).clip(lower=0)
    ) - np.log1p(frame["volume_prev_7d_usd"].astype(float).clip(lower=0))
    frame["log_volume_per_fill_usd"] = np.log1p(
        frame["volume_30d_usd"].astype(float).clip(lower=0) / np.maximum(1, frame["fills_30d"])
    )
    frame["is_referred"] = frame["is_referred"].astype(float)
    for column in FEATURES:
        frame[column] = frame[column].astype(float)
    return frame


def attach_labels(
    con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, cutoff: dt.date, horizon_days: int
) -> pd.DataFrame:
    """Label 1 = churned: no fill in [cutoff + 1, cutoff + horizon_days]."""
    retained = con.execute(LABEL_SQL, {"cutoff": cutoff, "horizon": horizon_days}).df()["user_id"]
    labelled = frame.copy()
    labelled["churned"] = (~labelled["user_id"].isin(set(retained))).astype(int)
    return labelled


def new_model() -> Pipeline:
    """Regularised logistic regression on standardised features (missing values: the median).

    Chosen over gradient boosting after backtests at the small and medium scales: as good or
    better out of time, fits in well under a second, and its coefficients explain a score.
    """
    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="median")),
            ("scale", StandardScaler()),
            ("classify", LogisticRegression(C=0.1, max_iter=1000)),
        ]
    )


def fit(frame: pd.DataFrame) -> Pipeline:
    labels = frame["churned"].to_numpy()
    if labels.size == 0 or labels.min() == labels.max():
        raise NotEnoughHistory(
            "the training cutoff has no users or only one label: nothing to learn from"
        )
    model = new_model()
    model.fit(frame[FEATURES].to_numpy(), labels)
    return model


def score(model: Pipeline, frame: pd.DataFrame) -> np.ndarray:
    return model.predict_proba(frame[FEATURES].to_numpy())[:, 1]


def strongest_features(model: Pipeline, top: int = 5) -> list[tuple[str, float]]:
    """The features with the largest standardised coefficients (+ raises the churn score)."""
    coefficients = model.named_steps["classify"].coef_[0]
    order = np.argsort(-np.abs(coefficients))[:top]
    return [(FEATURES[i], round(float(coefficients[i]), 3)) for i in order]


@dataclass
class ScoreMetrics:
    roc_auc: float | None
    precision_top_decile: float
    recall_top_decile: float
    top_decile_size: int

    @classmethod
    def of(
        cls, labels: np.ndarray, scores: np.ndarray, fraction: float = TOP_FRACTION
    ) -> ScoreMetrics:
        labels = np.asarray(labels, dtype=int)
        scores = np.asarray(scores, dtype=float)
        auc = float(roc_auc_score(labels, scores)) if 0 < labels.sum() < labels.size else None
        k = max(1, math.ceil(fraction * labels.size))
        # Highest scores first; ties broken by position (stable), as the ranking in the table.
        top = np.argsort(-scores, kind="stable")[:k]
        hits = int(labels[top].sum())
        positives = int(labels.sum())
        return cls(
            roc_auc=auc,
            precision_top_decile=hits / k,
            recall_top_decile=hits / positives if positives else 0.0,
            top_decile_size=k,
        )


@dataclass
class ChurnEvaluation:
    plan: CutoffPlan
    train_users: int
    train_churn_rate: float
    eval_users: int
    eval_churned: int
    eval_churn_rate: float
    model: ScoreMetrics
    accuracy: float
    majority_baseline_accuracy: float
    recency_rule: ScoreMetrics
    feature_importance: list[tuple[str, float]] = field(default_factory=list)

    def as_dict(self) -> dict:
        result = asdict(self)
        result["plan"] = {
            **{k: str(v) if isinstance(v, dt.date) else v for k, v in asdict(self.plan).items()},
            "is_proxy_horizon": self.plan.is_proxy_horizon,
            "note": self.plan.note,
        }
        return result


def evaluate(con: duckdb.DuckDBPyConnection, plan: CutoffPlan | None = None) -> ChurnEvaluation:
    """Train on the earlier cutoff, score the later one, and measure against its labels."""
    if plan is None:
        plan = plan_cutoffs(*data_bounds(con))
    train = attach_labels(
        con, build_features(con, plan.train_cutoff), plan.train_cutoff, plan.horizon_days
    )
    held_out = attach_labels(
        con, build_features(con, plan.eval_cutoff), plan.eval_cutoff, plan.horizon_days
    )
    if held_out.empty:
        raise NotEnoughHistory(f"no user is active on the evaluation cutoff {plan.eval_cutoff}")
    model = fit(train)
    scores = score(model, held_out)
    labels = held_out["churned"].to_numpy()
    churn_rate = float(labels.mean())
    return ChurnEvaluation(
        plan=plan,
        train_users=len(train),
        train_churn_rate=float(train["churned"].mean()),
        eval_users=len(held_out),
        eval_churned=int(labels.sum()),
        eval_churn_rate=churn_rate,
        model=ScoreMetrics.of(labels, scores),
        accuracy=float(accuracy_score(labels, (scores >= 0.5).astype(int))),
        majority_baseline_accuracy=max(churn_rate, 1.0 - churn_rate),
        recency_rule=ScoreMetrics.of(labels, held_out["days_since_last_trade"].to_numpy()),
        feature_importance=strongest_features(model),
    )


@dataclass
class Predictions:
    frame: pd.DataFrame
    model_version: str
    as_of_date: dt.date
    horizon_days: int
    trained_on_cutoff: dt.date
    trained_on_users: int


def model_version(plan: CutoffPlan) -> str:
    return f"{MODEL_NAME}-{MODEL_RELEASE}+c{plan.eval_cutoff:%Y%m%d}h{plan.horizon_days}"


def predict(
    con: duckdb.DuckDBPyConnection,
    plan: CutoffPlan | None = None,
    scored_at: dt.datetime | None = None,
) -> Predictions:
    """Refit on the latest labelled cutoff and score every user active on the last day of data."""
    if plan is None:
        plan = plan_cutoffs(*data_bounds(con))
    train = attach_labels(
        con, build_features(con, plan.eval_cutoff), plan.eval_cutoff, plan.horizon_days
    )
    model = fit(train)
    current = build_features(con, plan.last_date)
    version = model_version(plan)
    scored_at = scored_at or dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    scores = score(model, current) if len(current) else np.array([], dtype=float)
    out = pd.DataFrame(
        {
            "user_id": current["user_id"].astype(str),
            "churn_score": scores.astype(float),
        }
    )
    out = out.sort_values(["churn_score", "user_id"], ascending=[False, True], kind="stable")
    out["churn_rank"] = np.arange(1, len(out) + 1, dtype=np.int64)
    out["scored_at"] = pd.Timestamp(scored_at)
    out["model_version"] = version
    out["as_of_date"] = pd.Timestamp(plan.last_date).date()
    out["horizon_days"] = plan.horizon_days
    out["days_since_last_trade"] = (
        current.set_index("user_id")
        .loc[out["user_id"], "days_since_last_trade"]
        .astype(int)
        .to_numpy()
    )
    return Predictions(
        out.reset_index(drop=True),
        version,
        plan.last_date,
        plan.horizon_days,
        plan.eval_cutoff,
        len(train),
    )


TABLE_COMMENTS = {
    None: "Grain: one row per trader active on the last day of data (a fill in the last 30 "
    "days). Churn probability from predictive/churn_model.py; written by "
    "`python -m predictive score`.",
    "user_id": "The trader.",
    "churn_score": "Probability (0 to 1) of no fill in the next horizon_days days.",
    "churn_rank": "1 = the user most likely to churn; ties broken by user_id.",
    "scored_at": "When the scores were computed (UTC).",
    "model_version": "Model name, release, training cutoff (cYYYYMMDD) and horizon in days (hN).",
    "as_of_date": "The last day of data: features use activity on or before it.",
    "horizon_days": "Churn = no fill in [as_of_date + 1, as_of_date + horizon_days].",
    "days_since_last_trade": "Days from the last fill day to as_of_date (the strongest feature).",
}


def write_predictions(con: duckdb.DuckDBPyConnection, predictions: Predictions) -> int:
    """Replace marts.fct_churn_predictions with the new scores, in one transaction."""
    frame = predictions.frame  # noqa: F841 - read by DuckDB's replacement scan below
    con.execute("begin transaction")
    try:
        con.execute("create schema if not exists marts")
        con.execute(
            f"""
            create or replace table {PREDICTIONS_TABLE} as
            select
                cast(user_id as varchar) as user_id,
                cast(churn_score as double) as churn_score,
                cast(churn_rank as integer) as churn_rank,
                cast(scored_at as timestamp) as scored_at,
                cast(model_version as varchar) as model_version,
                cast(as_of_date as date) as as_of_date,
                cast(horizon_days as integer) as horizon_days,
                cast(days_since_last_trade as integer) as days_since_last_trade
            from frame
            """
        )
        for column, text in TABLE_COMMENTS.items():
            escaped = text.replace("'", "''")
            if column is None:
                con.execute(f"comment on table {PREDICTIONS_TABLE} is '{escaped}'")
            else:
                con.execute(f"comment on column {PREDICTIONS_TABLE}.{column} is '{escaped}'")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return len(predictions.frame)


def format_report(evaluation: ChurnEvaluation) -> str:
    plan, m, r = evaluation.plan, evaluation.model, evaluation.recency_rule

    def pct(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.3f}"

    lines = [
        "Churn model (time-based backtest)",
        f"  data: {plan.first_date} to {plan.last_date}; {plan.note}",
        f"  label: churned = no fill in [C + 1, C + {plan.horizon_days}]; "
        "population: users with a fill in [C - 29, C]",
        f"  train cutoff C1 = {plan.train_cutoff}: {evaluation.train_users} users, "
        f"churn rate {evaluation.train_churn_rate:.3f}",
        f"  evaluation cutoff C2 = {plan.eval_cutoff}: {evaluation.eval_users} users, "
        f"{evaluation.eval_churned} churned (rate {evaluation.eval_churn_rate:.3f})",
        f"  model {MODEL_NAME}-{MODEL_RELEASE} "
        "(scikit-learn LogisticRegression, standardised features):",
        f"    ROC-AUC                         {pct(m.roc_auc)}",
        f"    precision in the top decile     {pct(m.precision_top_decile)}"
        f"  ({m.top_decile_size} users)",
        f"    recall in the top decile        {pct(m.recall_top_decile)}",
        f"    accuracy (score >= 0.5)         {pct(evaluation.accuracy)}",
        f"    majority-class baseline         {pct(evaluation.majority_baseline_accuracy)}",
        "  recency rule (score = days since last trade), for comparison:",
        f"    ROC-AUC {pct(r.roc_auc)}, precision {pct(r.precision_top_decile)}, "
        f"recall {pct(r.recall_top_decile)} in the top decile",
    ]
    if evaluation.feature_importance:
        strongest = ", ".join(
            f"{name} {value:+.3f}" for name, value in evaluation.feature_importance
        )
        lines.append(f"  strongest features (standardised coefficient): {strongest}")
    return "\n".join(lines)
