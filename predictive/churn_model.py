"""Churn prediction: will an active trader make no fill in the next H days?

Features are rebuilt *as of a cutoff day C* from `marts.fct_user_daily_activity` (rows on or
before C only) and `marts.dim_users`, so the same code serves training, backtesting and
scoring without look-ahead. The label of a user active on C (a fill in [C - 29, C]) is
"churned": no fill in [C + 1, C + H]. H is 30 days (docs/kpis.md: churned = no fill for 30
days) when the data are long enough, else the longest horizon that fits (see `plan_cutoffs`).

Backtest (time-based split): train on cutoff C1, evaluate on C2 = C1 + H, whose label window
[C2 + 1, C2 + H] ends on the last day of data E. C1's labels are all known by C2, as they
would be in production. Training stacks C1 with the weekly snapshots before it that keep ten
days of history (`training_cutoffs`): more examples of the same users in other states. The
production model is refitted on C2 (the latest cutoff with a known label) and the snapshots
before it, and scores every user active on E; `write_predictions` replaces
`marts.fct_churn_predictions` in one transaction.

Two candidate models (a logistic regression and a gradient-boosted HistGradientBoosting
classifier) are compared on a validation split of the training users (a quarter of them, by
user, stratified on the label); the better one scores (`select_model`). The backtest
measures both, the recency rule (days since the last fill) and the majority baseline with
ROC-AUC, top-decile precision and recall, the Brier score and a lift table
(`marts.fct_churn_model_evaluation`, issue 20 item 5).

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
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

MODEL_NAME = "churn"
MODEL_RELEASE = "2.0"
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
    # Richer features (issue 20 item 5): activity trend, logins, deposits and withdrawals.
    "trade_days_trend_7d",
    "fills_trend_7d",
    "days_since_last_support_ticket",
    "logins_7d",
    "logins_30d",
    "days_since_last_login",
    "log_deposits_30d_usd",
    "log_withdrawals_30d_usd",
    "withdrawal_share_30d",
    "deposit_count_30d",
    "withdrawal_count_30d",
    # Losses and refused withdrawals: the 30 days' fills marked to the cutoff's last price,
    # and the withdrawals that failed (the transaction status 'failed').
    "signed_log_trading_pnl_30d_usd",
    "trading_return_30d",
    "failed_withdrawals_30d",
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
        count(case when has_fill and activity_date > $cutoff - 14 and activity_date <= $cutoff - 7
            then 1 end) as trade_days_prev_7d,
        sum(case when activity_date > $cutoff - 14 and activity_date <= $cutoff - 7
            then fill_count else 0 end) as fills_prev_7d,
        max(case when support_tickets_opened > 0 then activity_date end) as last_ticket_date,
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

),

-- Deposits and withdrawals of the last 30 days (completed only: they move balances), and
-- the withdrawals that failed.
failed as (

    select
        user_id,
        count(*) as failed_withdrawals_30d
    from marts.fct_transactions
    where transaction_type = 'withdrawal'
        and transaction_status = 'failed'
        and created_date <= $cutoff
        and created_date > $cutoff - 30
    group by user_id

),

-- Trading P&L of the last 30 days' fills, marked to each pair's last fill price on or before
-- the cutoff: a buy gains when the price rose since, a sell when it fell; less the fees. The
-- price ratio is in the quote asset, so the USD notional scales it.
last_price as (

    select
        pair_id,
        arg_max(price, executed_at) as last_price
    from marts.fct_trades
    where executed_date <= $cutoff
    group by pair_id

),

pnl as (

    select
        trades.user_id,
        sum(
            case
                when trades.side = 'buy'
                    then trades.notional_usd * (last_price.last_price / trades.price - 1)
                else trades.notional_usd * (1 - last_price.last_price / trades.price)
            end
            - coalesce(trades.fee_usd, 0)
        ) as trading_pnl_30d_usd
    from marts.fct_trades as trades
    inner join last_price
        on trades.pair_id = last_price.pair_id
    where trades.executed_date <= $cutoff
        and trades.executed_date > $cutoff - 30
        and trades.price > 0
    group by trades.user_id

),

flows as (

    select
        user_id,
        sum(case when transaction_type = 'deposit' then abs(amount_usd) else 0 end)
            as deposits_30d_usd,
        sum(case when transaction_type = 'withdrawal' then abs(amount_usd) else 0 end)
            as withdrawals_30d_usd,
        count(case when transaction_type = 'deposit' then 1 end) as deposit_count_30d,
        count(case when transaction_type = 'withdrawal' then 1 end) as withdrawal_count_30d
    from marts.fct_transactions
    where is_completed
        and transaction_type in ('deposit', 'withdrawal')
        and created_date <= $cutoff
        and created_date > $cutoff - 30
    group by user_id

),

-- Logins: no mart holds them per user and day, so the staging view (one row per event).
logins as (

    select
        user_id,
        count(case when cast(occurred_at as date) > $cutoff - 7 then 1 end) as logins_7d,
        count(case when cast(occurred_at as date) > $cutoff - 30 then 1 end) as logins_30d,
        max(cast(occurred_at as date)) as last_login_date
    from staging.stg_exchange__login_events
    where cast(occurred_at as date) <= $cutoff
        and event_type = 'login_success'
    group by user_id

)

select
    per_user.*,
    users.registration_date,
    users.tier_id,
    users.kyc_level,
    users.is_referred,
    coalesce(flows.deposits_30d_usd, 0) as deposits_30d_usd,
    coalesce(flows.withdrawals_30d_usd, 0) as withdrawals_30d_usd,
    coalesce(flows.deposit_count_30d, 0) as deposit_count_30d,
    coalesce(flows.withdrawal_count_30d, 0) as withdrawal_count_30d,
    coalesce(logins.logins_7d, 0) as logins_7d,
    coalesce(logins.logins_30d, 0) as logins_30d,
    logins.last_login_date,
    coalesce(failed.failed_withdrawals_30d, 0) as failed_withdrawals_30d,
    coalesce(pnl.trading_pnl_30d_usd, 0) as trading_pnl_30d_usd
from per_user
left join marts.dim_users as users
    on per_user.user_id = users.user_id
left join flows
    on per_user.user_id = flows.user_id
left join logins
    on per_user.user_id = logins.user_id
left join failed
    on per_user.user_id = failed.user_id
left join pnl
    on per_user.user_id = pnl.user_id
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
            return f"{days} days of data: the 30-day churn label of docs/kpis.md."
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
    The date spine may start earlier, at the first registration (docs/kpis.md); days with
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
    frame["trade_days_trend_7d"] = frame["trade_days_7d"] - frame["trade_days_prev_7d"]
    frame["fills_trend_7d"] = np.log1p(frame["fills_7d"].astype(float)) - np.log1p(
        frame["fills_prev_7d"].astype(float)
    )
    # Never (in the data) = a long time: the span of data plus one, not missing.
    never = (cutoff_ts - pd.to_datetime(frame["registration_date"])).dt.days + 1
    for column, date_column in [
        ("days_since_last_support_ticket", "last_ticket_date"),
        ("days_since_last_login", "last_login_date"),
    ]:
        since = (cutoff_ts - pd.to_datetime(frame[date_column])).dt.days
        frame[column] = since.fillna(never)
    for column in ["deposits_30d_usd", "withdrawals_30d_usd"]:
        frame[f"log_{column}"] = np.log1p(frame[column].astype(float).clip(lower=0))
    flows = frame["deposits_30d_usd"].astype(float) + frame["withdrawals_30d_usd"].astype(float)
    frame["withdrawal_share_30d"] = np.where(
        flows > 0, frame["withdrawals_30d_usd"].astype(float) / flows.where(flows > 0, 1), 0.5
    )
    pnl = frame["trading_pnl_30d_usd"].astype(float)
    frame["signed_log_trading_pnl_30d_usd"] = np.sign(pnl) * np.log1p(pnl.abs())
    frame["trading_return_30d"] = pnl / np.maximum(
        1.0, frame["volume_30d_usd"].astype(float).clip(lower=0)
    )
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


# Training stacks snapshots: the latest labelled cutoff and earlier ones a week apart (as long
# as MIN_HISTORY_DAYS of data lie before them), so the model learns from several states of the
# same users instead of one; at most TRAINING_SNAPSHOTS of them.
TRAINING_STEP_DAYS = 7
TRAINING_SNAPSHOTS = 6


def training_cutoffs(plan: CutoffPlan, latest: dt.date) -> list[dt.date]:
    """`latest` and the cutoffs a week apart before it that keep the plan's minimum history
    (every label window [c + 1, c + H] ends by latest + H, so no label looks past it)."""
    span = (plan.last_date - plan.first_date).days + 1
    history = min(MIN_HISTORY_DAYS, max(1, span // 3))
    earliest = plan.first_date + dt.timedelta(days=history - 1)
    cutoffs = []
    cutoff = latest
    while cutoff >= earliest and len(cutoffs) < TRAINING_SNAPSHOTS:
        cutoffs.append(cutoff)
        cutoff -= dt.timedelta(days=TRAINING_STEP_DAYS)
    return cutoffs or [latest]


def training_frame(
    con: duckdb.DuckDBPyConnection, cutoffs: list[dt.date], horizon_days: int
) -> pd.DataFrame:
    """The labelled snapshots of `cutoffs`, stacked (column `cutoff`)."""
    frames = []
    for cutoff in cutoffs:
        frame = attach_labels(con, build_features(con, cutoff), cutoff, horizon_days)
        frame["cutoff"] = cutoff
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


MODEL_KINDS = ("logreg", "gbm")
VALIDATION_FRACTION = 0.25
SEED = 20


def new_model(kind: str = "logreg") -> Pipeline:
    """A candidate churn model: `logreg` or `gbm`.

    logreg: regularised logistic regression on standardised features (missing: the median);
    fits in well under a second and its coefficients explain a score. gbm: scikit-learn's
    HistGradientBoostingClassifier (handles missing values itself), which can use
    interactions such as "few logins and a falling trade count". `select_model` picks one on a
    validation split of the training cutoff's users.
    """
    if kind == "logreg":
        return Pipeline(
            [
                ("impute", SimpleImputer(strategy="median")),
                ("scale", StandardScaler()),
                ("classify", LogisticRegression(C=0.1, max_iter=1000)),
            ]
        )
    if kind == "gbm":
        return Pipeline(
            [
                (
                    "classify",
                    HistGradientBoostingClassifier(
                        learning_rate=0.05,
                        max_iter=200,
                        max_leaf_nodes=15,
                        min_samples_leaf=20,
                        l2_regularization=1.0,
                        random_state=SEED,
                    ),
                )
            ]
        )
    raise ValueError(f"unknown model kind {kind!r}: one of {', '.join(MODEL_KINDS)}")


def _check_labels(frame: pd.DataFrame) -> np.ndarray:
    labels = frame["churned"].to_numpy()
    if labels.size == 0 or labels.min() == labels.max():
        raise NotEnoughHistory(
            "the training cutoff has no users or only one label: nothing to learn from"
        )
    return labels


def fit(frame: pd.DataFrame, kind: str = "logreg") -> Pipeline:
    labels = _check_labels(frame)
    model = new_model(kind)
    model.fit(frame[FEATURES].to_numpy(), labels)
    return model


def select_model(frame: pd.DataFrame) -> tuple[str, dict[str, float | None]]:
    """The candidate with the best ROC-AUC on a stratified validation split of `frame`.

    The split is by user (a quarter of the users, every snapshot of theirs, stratified on
    the label): a user seen in training is never validated on. Each candidate is fitted on
    the other users. Too few users of either label for a split: the logistic regression, the
    simpler model, and no validation figures.
    """
    labels = _check_labels(frame)
    if min(labels.sum(), labels.size - labels.sum()) < 10:
        return "logreg", {kind: None for kind in MODEL_KINDS}
    folds = StratifiedGroupKFold(
        n_splits=round(1 / VALIDATION_FRACTION), shuffle=True, random_state=SEED
    )
    train_index, valid_index = next(folds.split(frame, labels, groups=frame["user_id"]))
    train, valid = frame.iloc[train_index], frame.iloc[valid_index]
    if valid["churned"].nunique() < 2 or train["churned"].nunique() < 2:
        return "logreg", {kind: None for kind in MODEL_KINDS}
    aucs: dict[str, float | None] = {}
    for kind in MODEL_KINDS:
        model = fit(train, kind)
        aucs[kind] = float(roc_auc_score(valid["churned"], score(model, valid)))
    # Ties go to the simpler model (MODEL_KINDS order).
    chosen = max(MODEL_KINDS, key=lambda k: (aucs[k], -MODEL_KINDS.index(k)))
    return chosen, aucs


def score(model: Pipeline, frame: pd.DataFrame) -> np.ndarray:
    return model.predict_proba(frame[FEATURES].to_numpy())[:, 1]


def strongest_features(model: Pipeline, top: int = 5) -> list[tuple[str, float]]:
    """logreg: the largest standardised coefficients (+ raises the churn score). gbm: none
    (its permutation importance would need another pass over the data)."""
    classify = model.named_steps["classify"]
    if not hasattr(classify, "coef_"):
        return []
    coefficients = classify.coef_[0]
    order = np.argsort(-np.abs(coefficients))[:top]
    return [(FEATURES[i], round(float(coefficients[i]), 3)) for i in order]


@dataclass
class ScoreMetrics:
    roc_auc: float | None
    precision_top_decile: float
    recall_top_decile: float
    top_decile_size: int
    # Mean squared error of a probability (None for a rule whose score is not one).
    brier_score: float | None = None

    @classmethod
    def of(
        cls,
        labels: np.ndarray,
        scores: np.ndarray,
        fraction: float = TOP_FRACTION,
        probabilities: bool = False,
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
            brier_score=float(np.mean((scores - labels) ** 2)) if probabilities else None,
        )


def lift_table(labels: np.ndarray, scores: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Users ranked by score (highest first, stable) in `bins` equal groups: decile 1 = the
    highest scores. Per decile: users, churned, churn rate, lift (churn rate / overall rate),
    cumulative recall, and the mean score (for a probability: the reliability table)."""
    labels = np.asarray(labels, dtype=int)
    scores = np.asarray(scores, dtype=float)
    order = np.argsort(-scores, kind="stable")
    decile = np.empty(labels.size, dtype=int)
    decile[order] = np.arange(labels.size) * bins // max(labels.size, 1) + 1
    frame = pd.DataFrame({"decile": decile, "churned": labels, "score": scores})
    table = frame.groupby("decile").agg(
        users=("churned", "size"), churned=("churned", "sum"), mean_score=("score", "mean")
    )
    table["churn_rate"] = table["churned"] / table["users"]
    overall = labels.mean() if labels.size else 0.0
    table["lift"] = table["churn_rate"] / overall if overall else np.nan
    table["cumulative_recall"] = (
        table["churned"].cumsum() / labels.sum() if labels.sum() else np.nan
    )
    return table.reset_index()


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
    chosen_model: str = "logreg"
    validation_roc_auc: dict[str, float | None] = field(default_factory=dict)
    # Every scorer on the held-out cutoff: each candidate model, the recency rule and the
    # majority baseline (a constant score: the training churn rate).
    scorers: dict[str, ScoreMetrics] = field(default_factory=dict)
    lift: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    # The snapshots stacked for training (latest first); train_users counts their rows.
    train_cutoffs: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        result = asdict(self)
        result["plan"] = {
            **{k: str(v) if isinstance(v, dt.date) else v for k, v in asdict(self.plan).items()},
            "is_proxy_horizon": self.plan.is_proxy_horizon,
            "note": self.plan.note,
        }
        result["lift"] = {k: v.to_dict(orient="records") for k, v in self.lift.items()}
        return result


def evaluate(con: duckdb.DuckDBPyConnection, plan: CutoffPlan | None = None) -> ChurnEvaluation:
    """Choose a model on a validation split of the earlier cutoff, train it on that cutoff,
    score the later one, and measure every scorer against its labels."""
    if plan is None:
        plan = plan_cutoffs(*data_bounds(con))
    train_cutoffs = training_cutoffs(plan, plan.train_cutoff)
    train = training_frame(con, train_cutoffs, plan.horizon_days)
    held_out = attach_labels(
        con, build_features(con, plan.eval_cutoff), plan.eval_cutoff, plan.horizon_days
    )
    if held_out.empty:
        raise NotEnoughHistory(f"no user is active on the evaluation cutoff {plan.eval_cutoff}")
    chosen, validation = select_model(train)
    labels = held_out["churned"].to_numpy()
    train_rate = float(train["churned"].mean())
    scores_by: dict[str, np.ndarray] = {}
    models = {}
    for kind in MODEL_KINDS:
        models[kind] = fit(train, kind)
        scores_by[f"model_{kind}"] = score(models[kind], held_out)
    scores_by["recency_rule"] = held_out["days_since_last_trade"].to_numpy(dtype=float)
    scores_by["majority_baseline"] = np.full(labels.size, train_rate)
    scorers = {
        name: ScoreMetrics.of(labels, values, probabilities=name != "recency_rule")
        for name, values in scores_by.items()
    }
    scores = scores_by[f"model_{chosen}"]
    churn_rate = float(labels.mean())
    return ChurnEvaluation(
        plan=plan,
        train_users=len(train),
        train_churn_rate=train_rate,
        train_cutoffs=[str(c) for c in train_cutoffs],
        eval_users=len(held_out),
        eval_churned=int(labels.sum()),
        eval_churn_rate=churn_rate,
        model=scorers[f"model_{chosen}"],
        accuracy=float(accuracy_score(labels, (scores >= 0.5).astype(int))),
        majority_baseline_accuracy=max(churn_rate, 1.0 - churn_rate),
        recency_rule=scorers["recency_rule"],
        feature_importance=strongest_features(models["logreg"]),
        chosen_model=chosen,
        validation_roc_auc=validation,
        scorers=scorers,
        lift={name: lift_table(labels, values) for name, values in scores_by.items()},
    )


@dataclass
class Predictions:
    frame: pd.DataFrame
    model_version: str
    as_of_date: dt.date
    horizon_days: int
    trained_on_cutoff: dt.date
    trained_on_users: int


def model_version(plan: CutoffPlan, kind: str = "logreg") -> str:
    return f"{MODEL_NAME}-{kind}-{MODEL_RELEASE}+c{plan.eval_cutoff:%Y%m%d}h{plan.horizon_days}"


def predict(
    con: duckdb.DuckDBPyConnection,
    plan: CutoffPlan | None = None,
    scored_at: dt.datetime | None = None,
) -> Predictions:
    """Refit on the latest labelled cutoff and score every user active on the last day of data."""
    if plan is None:
        plan = plan_cutoffs(*data_bounds(con))
    train = training_frame(con, training_cutoffs(plan, plan.eval_cutoff), plan.horizon_days)
    kind, _ = select_model(train)
    model = fit(train, kind)
    current = build_features(con, plan.last_date)
    version = model_version(plan, kind)
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


EVALUATION_TABLE = "marts.fct_churn_model_evaluation"

EVALUATION_COMMENTS = {
    None: "Grain: one row per scorer and decile of its held-out ranking. The churn model's "
    "backtest (train at C1, evaluate at C2): each candidate model, the recency rule and the "
    "majority baseline, with ROC-AUC, precision and recall in the top decile, Brier score, "
    "and the lift and reliability table. Written by `python -m predictive score`.",
    "scorer": "model_logreg, model_gbm, recency_rule (days since last trade) or "
    "majority_baseline (a constant: the training churn rate).",
    "is_chosen": "The model chosen on the validation split (the one scoring users).",
    "decile": "1 = the 10% of users with the highest scores.",
    "lift": "The decile's churn rate / the overall churn rate.",
    "mean_score": "Mean score in the decile: against churn_rate, the reliability table.",
    "brier_score": "Mean squared error of the probability (NULL for the recency rule).",
}


def evaluation_frame(evaluation: ChurnEvaluation, created_at: dt.datetime) -> pd.DataFrame:
    """One row per scorer and decile: the lift table with the scorer's figures beside it."""
    frames = []
    for name, metrics in evaluation.scorers.items():
        table = evaluation.lift[name].copy()
        kind = name.removeprefix("model_")
        table.insert(0, "scorer", name)
        table["is_chosen"] = name == f"model_{evaluation.chosen_model}"
        table["roc_auc"] = np.nan if metrics.roc_auc is None else metrics.roc_auc
        table["precision_top_decile"] = metrics.precision_top_decile
        table["recall_top_decile"] = metrics.recall_top_decile
        # NaN, not None: a float column in every frame (NULL in the table).
        nan_if_none = [metrics.brier_score, evaluation.validation_roc_auc.get(kind)]
        table["brier_score"], table["validation_roc_auc"] = (
            np.nan if value is None else float(value) for value in nan_if_none
        )
        frames.append(table)
    out = pd.concat(frames, ignore_index=True)
    out["train_cutoff"] = evaluation.plan.train_cutoff
    out["eval_cutoff"] = evaluation.plan.eval_cutoff
    out["horizon_days"] = evaluation.plan.horizon_days
    out["eval_users"] = evaluation.eval_users
    out["eval_churn_rate"] = evaluation.eval_churn_rate
    out["created_at"] = pd.Timestamp(created_at)
    return out


def write_evaluation(con: duckdb.DuckDBPyConnection, evaluation: ChurnEvaluation) -> int:
    """Replace marts.fct_churn_model_evaluation, in one transaction."""
    frame = evaluation_frame(  # noqa: F841 - read by DuckDB's replacement scan below
        evaluation, dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    )
    con.execute("begin transaction")
    try:
        con.execute("create schema if not exists marts")
        con.execute(
            f"""
            create or replace table {EVALUATION_TABLE} as
            select
                cast(scorer as varchar) as scorer,
                cast(is_chosen as boolean) as is_chosen,
                cast(decile as integer) as decile,
                cast(users as integer) as users,
                cast(churned as integer) as churned,
                cast(churn_rate as double) as churn_rate,
                cast(lift as double) as lift,
                cast(cumulative_recall as double) as cumulative_recall,
                cast(mean_score as double) as mean_score,
                cast(roc_auc as double) as roc_auc,
                cast(precision_top_decile as double) as precision_top_decile,
                cast(recall_top_decile as double) as recall_top_decile,
                cast(brier_score as double) as brier_score,
                cast(validation_roc_auc as double) as validation_roc_auc,
                cast(train_cutoff as date) as train_cutoff,
                cast(eval_cutoff as date) as eval_cutoff,
                cast(horizon_days as integer) as horizon_days,
                cast(eval_users as integer) as eval_users,
                cast(eval_churn_rate as double) as eval_churn_rate,
                cast(created_at as timestamp) as created_at
            from frame
            """
        )
        for column, text in EVALUATION_COMMENTS.items():
            escaped = text.replace("'", "''")
            target = (
                f"table {EVALUATION_TABLE}"
                if column is None
                else f"column {EVALUATION_TABLE}.{column}"
            )
            con.execute(f"comment on {target} is '{escaped}'")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return len(evaluation.scorers)


# Churners in training below which the models are not expected to beat a one-feature rule.
FEW_TRAINING_CHURNERS = 200


def verdict(evaluation: ChurnEvaluation) -> str:
    """One sentence: does the chosen model beat the recency rule on the held-out cutoff, and
    if not, the likely reason that the figures show."""
    model, rule = evaluation.model.roc_auc, evaluation.recency_rule.roc_auc
    if model is None or rule is None:
        return "verdict: no ROC-AUC on the held-out cutoff (one label only)"
    gain = model - rule
    churners = round(evaluation.train_churn_rate * evaluation.train_users)
    text = (
        f"verdict: the chosen model ({evaluation.chosen_model}) "
        f"{'beats' if gain > 0 else 'does not beat'} the recency rule: ROC-AUC {model:.3f} "
        f"against {rule:.3f} ({gain:+.3f}); the majority baseline 0.500"
    )
    if gain <= 0 and churners < FEW_TRAINING_CHURNERS:
        text += (
            f". Why not: {churners} churners in {evaluation.train_users} training rows "
            f"({len(evaluation.train_cutoffs) or 1} snapshot(s)) are too few for the richer "
            "features to add to days since the last fill, which alone ranks this data well"
        )
    return text


def format_report(evaluation: ChurnEvaluation) -> str:
    plan = evaluation.plan

    def pct(x: float | None) -> str:
        return "  n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"

    validation = ", ".join(f"{k} {pct(v)}" for k, v in evaluation.validation_roc_auc.items())
    lines = [
        "Churn model (time-based backtest)",
        f"  data: {plan.first_date} to {plan.last_date}; {plan.note}",
        f"  label: churned = no fill in [C + 1, C + {plan.horizon_days}]; "
        "population: users with a fill in [C - 29, C]",
        f"  train cutoff C1 = {plan.train_cutoff}, stacked with "
        f"{len(evaluation.train_cutoffs) - 1} earlier weekly snapshot(s): "
        f"{evaluation.train_users} user snapshots, churn rate {evaluation.train_churn_rate:.3f}",
        f"  evaluation cutoff C2 = {plan.eval_cutoff}: {evaluation.eval_users} users, "
        f"{evaluation.eval_churned} churned (rate {evaluation.eval_churn_rate:.3f})",
        f"  chosen model: {evaluation.chosen_model} (validation ROC-AUC on 25% of C1's users: "
        f"{validation})",
        f"    accuracy (score >= 0.5)         {pct(evaluation.accuracy)}",
        f"    majority-class baseline         {pct(evaluation.majority_baseline_accuracy)}",
        "  held out at C2 (top decile = "
        f"{evaluation.model.top_decile_size} users; ROC-AUC, precision in the top decile, "
        "recall in the top decile, Brier score):",
        f"    {'scorer':<20} {'ROC-AUC':>8} {'prec@10%':>9} {'rec@10%':>8} {'Brier':>7}",
    ]
    for name, m in evaluation.scorers.items():
        mark = " *" if name == f"model_{evaluation.chosen_model}" else ""
        lines.append(
            f"    {name + mark:<20} {pct(m.roc_auc):>8} {pct(m.precision_top_decile):>9} "
            f"{pct(m.recall_top_decile):>8} {pct(m.brier_score):>7}"
        )
    for name in [f"model_{evaluation.chosen_model}", "recency_rule"]:
        table = evaluation.lift.get(name)
        if table is None:
            continue
        lines.append(f"  lift table, {name} (decile 1 = highest scores):")
        lines.append("    decile  users  churned  rate   lift  cum.recall  mean score")
        for row in table.itertuples():
            lines.append(
                f"    {row.decile:>6} {row.users:>6} {row.churned:>8} {row.churn_rate:.3f} "
                f"{row.lift:6.2f} {row.cumulative_recall:11.3f} {row.mean_score:11.3f}"
            )
    if evaluation.feature_importance:
        strongest = ", ".join(
            f"{name} {value:+.3f}" for name, value in evaluation.feature_importance
        )
        lines.append(f"  strongest logreg features (standardised coefficient): {strongest}")
    lines.append(f"  {verdict(evaluation)}")
    return "\n".join(lines)
