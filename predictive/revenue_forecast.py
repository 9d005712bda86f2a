"""Revenue forecast: next 30 days and next calendar month, with a prediction interval and its
held-out error against naive baselines (issue 20 item 3; docs/kpis.md, revenue KPIs).

Two forecasts are written to `marts.fct_revenue_forecast`, one row each:

- `next_30_days`: the total revenue of the 30 days after the last day of data, from an ETS
  model (statsmodels `ETSModel`: additive error, additive trend, additive weekly
  seasonality) on daily revenue from `marts.fct_daily_exchange_kpis`.
- `next_month`: the revenue of the next calendar month, from an ETS model (additive
  trend; yearly seasonality only with two years of history) on complete months.

The interval of a total is the quantiles of totals of simulated future paths (the sum of
per-day intervals would be too wide). Each forecast is evaluated by rolling origin on the
history it has: at every origin the model is refitted on the data before it and the next
horizon is forecast, beside two naive baselines, `last period` (the total of the previous
horizon) and `seasonal naive` (the same period one cycle earlier: each day repeats the same
weekday of the week before; each month the same month a year before). MAE, MAPE and the
interval's coverage over those origins sit in the mart beside the forecast.

Too little history is said, not papered over: the row then has status
`insufficient_history`, a note "insufficient history (N days, need M)" and NULL forecast and
error columns. The simulator's default window (30 days, `small`) is too short for both; the
`medium` scale (90 days) gives the 30-day forecast and no monthly one.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

FORECAST_TABLE = "marts.fct_revenue_forecast"
INTERVAL_LEVEL = 0.80
SIMULATIONS = 500
SEED = 20

# Daily model: 30-day horizon, weekly seasonality. Four weeks to fit at the first origin and
# a full horizon after it to score: 58 days at least; origins every 7 days.
DAILY_HORIZON = 30
DAILY_SEASON = 7
DAILY_MIN_FIT = 28
DAILY_STEP = 7
# Monthly model: six complete months to fit, three held-out months to score.
MONTHLY_HORIZON = 1
MONTHLY_SEASON = 12
MONTHLY_MIN_FIT = 6
MONTHLY_MIN_ORIGINS = 3
MIN_ORIGINS = 2


@dataclass
class SeriesForecast:
    """A forecast of the total over the next `horizon` periods, and its rolling-origin error."""

    status: str
    note: str
    history_periods: int
    required_periods: int
    forecast: float | None = None
    lower: float | None = None
    upper: float | None = None
    origins: int = 0
    mae_model: float | None = None
    mape_model: float | None = None
    mae_last_period: float | None = None
    mape_last_period: float | None = None
    mae_seasonal_naive: float | None = None
    mape_seasonal_naive: float | None = None
    interval_coverage: float | None = None


def _fit(values: np.ndarray, season: int | None):
    # Imported here: statsmodels takes ~1 s to import and only this step needs it.
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    model = ETSModel(
        pd.Series(values, dtype=float),
        error="add",
        trend="add",
        damped_trend=False,
        seasonal="add" if season else None,
        seasonal_periods=season if season else None,
        initialization_method="heuristic" if season else "estimated",
    )
    with warnings.catch_warnings():
        # Convergence chatter on short series; the held-out error is the judge of the fit.
        warnings.simplefilter("ignore")
        return model.fit(disp=False, maxiter=200)


def forecast_total(
    values: np.ndarray, horizon: int, season: int | None, level: float = INTERVAL_LEVEL
) -> tuple[float, float, float]:
    """The forecast total of the next `horizon` periods and its `level` prediction interval.

    The model runs on log(1 + revenue): revenue's weekly pattern and noise scale with its
    level, so they are additive on the log scale, and a simulated path is never negative.
    The point forecast is the mean of the simulated totals, the interval their quantiles.
    """
    fitted = _fit(np.log1p(np.clip(values, 0, None)), season)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        paths = fitted.simulate(
            horizon, anchor="end", repetitions=SIMULATIONS, rng=np.random.default_rng(SEED)
        )
    totals = np.expm1(np.asarray(paths).reshape(horizon, -1)).sum(axis=0)
    alpha = (1.0 - level) / 2.0
    lower, upper = np.quantile(totals, [alpha, 1.0 - alpha])
    return float(np.mean(totals)), max(float(lower), 0.0), max(float(upper), 0.0)


def seasonal_naive_total(history: np.ndarray, horizon: int, season: int) -> float | None:
    """Each future period repeats the period one season earlier (None without a full season)."""
    if len(history) < season:
        return None
    last_cycle = history[-season:]
    return float(np.sum(np.resize(last_cycle, horizon)))


def _mape(errors: np.ndarray, actuals: np.ndarray) -> float | None:
    keep = actuals > 0
    return float(np.mean(np.abs(errors[keep]) / actuals[keep])) if keep.any() else None


def evaluate_series(
    values: np.ndarray,
    horizon: int,
    season: int | None,
    min_fit: int,
    step: int,
    min_origins: int = MIN_ORIGINS,
    unit: str = "days",
    level: float = INTERVAL_LEVEL,
) -> SeriesForecast:
    """Rolling-origin evaluation on `values`, then the forecast from all of them."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    required = min_fit + horizon + (min_origins - 1) * step
    if n < required:
        return SeriesForecast(
            status="insufficient_history",
            note=f"insufficient history ({n} {unit}, need {required})",
            history_periods=n,
            required_periods=required,
        )
    # Seasonality only where the fit window holds two full cycles.
    use_season = season if season and min_fit >= 2 * season else None
    # Origins from the newest backwards, so the latest data are always scored.
    origins = list(range(n - horizon, min_fit - 1, -step))[::-1]
    rows = []
    for origin in origins:
        history, actual = values[:origin], float(values[origin : origin + horizon].sum())
        point, lower, upper = forecast_total(history, horizon, use_season, level)
        last = float(history[-horizon:].sum()) * horizon / min(horizon, len(history))
        seasonal = seasonal_naive_total(history, horizon, season) if season else None
        rows.append((actual, point, lower, upper, last, np.nan if seasonal is None else seasonal))
    table = np.array(rows, dtype=float)
    actual = table[:, 0]
    model_err, last_err, seasonal_err = (
        table[:, 1] - actual,
        table[:, 4] - actual,
        table[:, 5] - actual,
    )
    has_seasonal = not np.isnan(seasonal_err).any()
    point, lower, upper = forecast_total(values, horizon, use_season, level)
    return SeriesForecast(
        status="forecast",
        note=(
            f"{n} {unit} of history; error over {len(origins)} held-out origins "
            f"(every {step} {unit}, horizon {horizon} {unit})"
        ),
        history_periods=n,
        required_periods=required,
        forecast=point,
        lower=lower,
        upper=upper,
        origins=len(origins),
        mae_model=float(np.mean(np.abs(model_err))),
        mape_model=_mape(model_err, actual),
        mae_last_period=float(np.mean(np.abs(last_err))),
        mape_last_period=_mape(last_err, actual),
        mae_seasonal_naive=float(np.mean(np.abs(seasonal_err))) if has_seasonal else None,
        mape_seasonal_naive=_mape(seasonal_err, actual) if has_seasonal else None,
        interval_coverage=float(np.mean((table[:, 2] <= actual) & (actual <= table[:, 3]))),
    )


# From the first trading day: earlier days of the KPI series hold registrations only
# (dim_dates.has_trading_started), and their zeros are no revenue history.
DAILY_SQL = """
select kpis.kpi_date, kpis.revenue_usd
from marts.fct_daily_exchange_kpis as kpis
inner join marts.dim_dates as dates on kpis.kpi_date = dates.date_day
where dates.has_trading_started
order by kpis.kpi_date
"""


def daily_revenue(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    frame = con.execute(DAILY_SQL).df()
    frame["kpi_date"] = pd.to_datetime(frame["kpi_date"]).dt.date
    frame["revenue_usd"] = frame["revenue_usd"].astype(float).fillna(0.0)
    return frame


def complete_months(daily: pd.DataFrame) -> pd.DataFrame:
    """Revenue per calendar month, keeping only months whose every day is in the data."""
    if daily.empty:
        return pd.DataFrame(columns=["month_start_date", "revenue_usd"])
    frame = daily.copy()
    dates = pd.to_datetime(frame["kpi_date"])
    frame["month_start_date"] = dates.dt.to_period("M").dt.start_time.dt.date
    grouped = frame.groupby("month_start_date").agg(
        revenue_usd=("revenue_usd", "sum"), days=("kpi_date", "count")
    )
    month_days = pd.to_datetime(pd.Series(grouped.index)).dt.days_in_month.to_numpy()
    return grouped[grouped["days"].to_numpy() == month_days].reset_index()[
        ["month_start_date", "revenue_usd"]
    ]


def build_forecasts(daily: pd.DataFrame, created_at: dt.datetime) -> pd.DataFrame:
    """The two rows of marts.fct_revenue_forecast from a daily revenue series."""
    if daily.empty:
        raise ValueError("marts.fct_daily_exchange_kpis is empty: build the warehouse first")
    last_date = daily["kpi_date"].max()
    daily_fc = evaluate_series(
        daily["revenue_usd"].to_numpy(),
        DAILY_HORIZON,
        DAILY_SEASON,
        DAILY_MIN_FIT,
        DAILY_STEP,
        unit="days",
    )
    months = complete_months(daily)
    monthly_fc = evaluate_series(
        months["revenue_usd"].to_numpy(),
        MONTHLY_HORIZON,
        MONTHLY_SEASON,
        MONTHLY_MIN_FIT,
        1,
        min_origins=MONTHLY_MIN_ORIGINS,
        unit="complete months",
    )
    next_month_start = (pd.Timestamp(last_date) + pd.offsets.MonthBegin(1)).date()
    next_month_end = (pd.Timestamp(next_month_start) + pd.offsets.MonthEnd(0)).date()
    rows = []
    for kind, fc, start, end in [
        (
            "next_30_days",
            daily_fc,
            last_date + dt.timedelta(days=1),
            last_date + dt.timedelta(days=DAILY_HORIZON),
        ),
        ("next_month", monthly_fc, next_month_start, next_month_end),
    ]:
        rows.append(
            {
                "forecast_kind": kind,
                "as_of_date": last_date,
                "period_start_date": start,
                "period_end_date": end,
                "status": fc.status,
                "note": fc.note,
                "history_periods": fc.history_periods,
                "required_periods": fc.required_periods,
                "forecast_revenue_usd": fc.forecast,
                "interval_lower_usd": fc.lower,
                "interval_upper_usd": fc.upper,
                "interval_level": INTERVAL_LEVEL,
                "holdout_origins": fc.origins,
                "mae_model_usd": fc.mae_model,
                "mape_model": fc.mape_model,
                "mae_last_period_usd": fc.mae_last_period,
                "mape_last_period": fc.mape_last_period,
                "mae_seasonal_naive_usd": fc.mae_seasonal_naive,
                "mape_seasonal_naive": fc.mape_seasonal_naive,
                "interval_coverage": fc.interval_coverage,
                "method": "statsmodels ETSModel on log(1 + revenue) (additive error, additive trend"
                + (", weekly seasonality)" if kind == "next_30_days" else ")"),
                "created_at": created_at,
            }
        )
    return pd.DataFrame(rows)


TABLE_COMMENTS = {
    None: "Grain: one row per forecast kind (next_30_days, next_month). Revenue forecast with "
    "an 80% prediction interval and its rolling-origin held-out error beside naive baselines; "
    "NULL forecast and status insufficient_history when the history is too short. Written by "
    "`python -m predictive forecast` (predictive/revenue_forecast.py).",
    "forecast_kind": "next_30_days (daily model) or next_month (monthly model).",
    "status": "forecast, or insufficient_history (then every forecast and error column is NULL).",
    "note": "How much history there is and how the error was measured, or what is missing.",
    "forecast_revenue_usd": "Forecast revenue of the period in USD.",
    "interval_lower_usd": "Lower bound of the prediction interval (interval_level).",
    "interval_upper_usd": "Upper bound of the prediction interval (interval_level).",
    "mae_model_usd": "Mean absolute error of the model over the held-out origins.",
    "mae_last_period_usd": "MAE of the naive baseline: the previous period's total.",
    "mae_seasonal_naive_usd": "MAE of the seasonal naive baseline: the same period last cycle.",
    "interval_coverage": "Share of held-out totals inside the model's interval.",
}

COLUMN_TYPES = {
    "forecast_kind": "varchar",
    "as_of_date": "date",
    "period_start_date": "date",
    "period_end_date": "date",
    "status": "varchar",
    "note": "varchar",
    "history_periods": "integer",
    "required_periods": "integer",
    "forecast_revenue_usd": "double",
    "interval_lower_usd": "double",
    "interval_upper_usd": "double",
    "interval_level": "double",
    "holdout_origins": "integer",
    "mae_model_usd": "double",
    "mape_model": "double",
    "mae_last_period_usd": "double",
    "mape_last_period": "double",
    "mae_seasonal_naive_usd": "double",
    "mape_seasonal_naive": "double",
    "interval_coverage": "double",
    "method": "varchar",
    "created_at": "timestamp",
}


def write_forecasts(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> int:
    """Replace marts.fct_revenue_forecast in one transaction."""
    select = ",\n".join(f"cast({c} as {t}) as {c}" for c, t in COLUMN_TYPES.items())
    con.execute("begin transaction")
    try:
        con.execute("create schema if not exists marts")
        con.register("forecast_frame", frame)
        con.execute(
            f"create or replace table {FORECAST_TABLE} as select {select} from forecast_frame"
        )
        con.unregister("forecast_frame")
        for column, text in TABLE_COMMENTS.items():
            escaped = text.replace("'", "''")
            target = (
                f"table {FORECAST_TABLE}" if column is None else f"column {FORECAST_TABLE}.{column}"
            )
            con.execute(f"comment on {target} is '{escaped}'")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return len(frame)


def run(con: duckdb.DuckDBPyConnection, created_at: dt.datetime | None = None) -> pd.DataFrame:
    created_at = created_at or dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    frame = build_forecasts(daily_revenue(con), created_at)
    write_forecasts(con, frame)
    return frame


def format_report(frame: pd.DataFrame) -> str:
    def num(x) -> str:
        return "n/a" if x is None or pd.isna(x) else f"{x:,.0f}"

    def pct(x) -> str:
        return "n/a" if x is None or pd.isna(x) else f"{x:.1%}"

    lines = ["Revenue forecast (rolling-origin held-out error)"]
    for row in frame.itertuples():
        lines.append(
            f"  {row.forecast_kind} ({row.period_start_date} to {row.period_end_date}): {row.note}"
        )
        if row.status != "forecast":
            continue
        lines += [
            f"    forecast {num(row.forecast_revenue_usd)} USD, {row.interval_level:.0%} interval "
            f"[{num(row.interval_lower_usd)}, {num(row.interval_upper_usd)}]",
            f"    MAE  model {num(row.mae_model_usd)}, last period {num(row.mae_last_period_usd)}, "
            f"seasonal naive {num(row.mae_seasonal_naive_usd)}",
            f"    MAPE model {pct(row.mape_model)}, last period {pct(row.mape_last_period)}, "
            f"seasonal naive {pct(row.mape_seasonal_naive)}; interval coverage "
            f"{pct(row.interval_coverage)}",
        ]
    return "\n".join(lines)
