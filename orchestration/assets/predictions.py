"""The churn model: trained and scored after the marts it reads, written back as a mart.

A Python step rather than a dbt Python model: dbt-postgres has no Python models, and the
backtest rebuilds features at several cutoffs (predictive/churn_model.py).
"""

import dagster as dg

from orchestration.assets.dbt import node_asset_key
from orchestration.resources import WarehouseResource

PREDICTIONS_KEY = dg.AssetKey(["marts", "fct_churn_predictions"])
FEATURE_MARTS = ("fct_user_daily_activity", "dim_users", "dim_dates")


@dg.asset(
    key=PREDICTIONS_KEY,
    deps=[key for key in (node_asset_key(name) for name in FEATURE_MARTS) if key],
    group_name="marts",
    kinds={"python", "scikit-learn", "duckdb"},
    description="Churn score and rank of every user active on the last day of data "
    "(marts.fct_churn_predictions), from a model refitted on the latest labelled cutoff.",
)
def churn_predictions(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    from predictive import churn_model

    with warehouse.connect() as con:
        try:
            predictions = churn_model.predict(con)
        except churn_model.NotEnoughHistory as error:
            context.log.warning(f"no churn scores: {error}")
            return dg.MaterializeResult(metadata={"scored_users": 0, "reason": str(error)})
        written = churn_model.write_predictions(con, predictions)
    return dg.MaterializeResult(
        metadata={
            "scored_users": written,
            "as_of_date": str(predictions.as_of_date),
            "model_version": predictions.model_version,
            "horizon_days": predictions.horizon_days,
        }
    )


EVALUATION_KEY = dg.AssetKey(["marts", "fct_churn_model_evaluation"])


@dg.asset(
    key=EVALUATION_KEY,
    deps=[key for key in (node_asset_key(name) for name in FEATURE_MARTS) if key],
    group_name="marts",
    kinds={"python", "scikit-learn", "duckdb"},
    description="The churn model's backtest at several labelled cutoffs against its baselines "
    "(marts.fct_churn_model_evaluation), read by the dashboard's model page.",
)
def churn_model_evaluation(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    from predictive import churn_model

    with warehouse.connect() as con:
        try:
            evaluation = churn_model.evaluate(con)
        except churn_model.NotEnoughHistory as error:
            context.log.warning(f"no churn backtest: {error}")
            return dg.MaterializeResult(metadata={"reason": str(error)})
        churn_model.write_evaluation(con, evaluation)
    return dg.MaterializeResult(metadata={"chosen_model": str(evaluation.chosen_model)})


FORECAST_KEY = dg.AssetKey(["marts", "fct_revenue_forecast"])
FORECAST_MARTS = ("fct_daily_exchange_kpis", "dim_dates")


@dg.asset(
    key=FORECAST_KEY,
    deps=[key for key in (node_asset_key(name) for name in FORECAST_MARTS) if key],
    group_name="marts",
    kinds={"python", "statsmodels", "duckdb"},
    description="Revenue forecast for the next 30 days and the next month, with its held-out "
    "error against naive baselines (marts.fct_revenue_forecast).",
)
def revenue_forecast(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    from predictive import revenue_forecast as forecast

    with warehouse.connect() as con:
        try:
            frame = forecast.run(con)
        except ValueError as error:
            context.log.warning(f"no revenue forecast: {error}")
            return dg.MaterializeResult(metadata={"reason": str(error)})
    context.log.info(forecast.format_report(frame))
    return dg.MaterializeResult(metadata={"forecast_rows": len(frame)})
