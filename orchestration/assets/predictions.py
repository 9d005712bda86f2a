"""The predictive marts: trained and scored after the marts they read, written back as marts.

Python steps rather than dbt Python models: dbt-postgres has no Python models, and the churn
backtest rebuilds features at several cutoffs (predictive/churn_model.py). dbt declares the
tables they write as the ``predictive`` source, so dbt docs' lineage shows them too
(docs/architecture.md).
"""

from collections.abc import Callable

import dagster as dg

from orchestration.assets.dbt import node_asset_key
from orchestration.resources import WarehouseResource

PREDICTIONS_KEY = dg.AssetKey(["marts", "fct_churn_predictions"])
EVALUATION_KEY = dg.AssetKey(["marts", "fct_churn_model_evaluation"])
FORECAST_KEY = dg.AssetKey(["marts", "fct_revenue_forecast"])
FEATURE_MARTS = ("fct_user_daily_activity", "dim_users", "dim_dates")
FORECAST_MARTS = ("fct_daily_exchange_kpis", "dim_dates")


def _predictive_mart(
    key: dg.AssetKey,
    reads: tuple[str, ...],
    kinds: set[str],
    description: str,
    write: Callable[[dg.AssetExecutionContext, object], dict],
    too_little_data: Callable[[], type[Exception]],
) -> dg.AssetsDefinition:
    """An asset that runs ``write(context, connection)`` (the mart's metadata back) under the
    warehouse lock; when the data is too short for it (``too_little_data()``'s exception) it
    writes nothing and says why, without failing the run."""

    def materialize(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        with warehouse.connect() as con:
            try:
                metadata = write(context, con)
            except too_little_data() as error:
                context.log.warning(f"{key.path[-1]} not written: {error}")
                return dg.MaterializeResult(metadata={"reason": str(error)})
        return dg.MaterializeResult(metadata=metadata)

    return dg.asset(
        key=key,
        deps=[k for k in (node_asset_key(mart) for mart in reads) if k],
        group_name="marts",
        kinds=kinds,
        description=description,
    )(materialize)


def _not_enough_history() -> type[Exception]:
    from predictive import churn_model

    return churn_model.NotEnoughHistory


def _score(context, con) -> dict:
    from predictive import churn_model

    predictions = churn_model.predict(con)
    return {
        "scored_users": churn_model.write_predictions(con, predictions),
        "as_of_date": str(predictions.as_of_date),
        "model_version": predictions.model_version,
        "horizon_days": predictions.horizon_days,
    }


def _backtest(context, con) -> dict:
    from predictive import churn_model

    evaluation = churn_model.evaluate(con)
    churn_model.write_evaluation(con, evaluation)
    return {"chosen_model": str(evaluation.chosen_model)}


def _forecast(context, con) -> dict:
    from predictive import revenue_forecast as forecast

    frame = forecast.run(con)
    context.log.info(forecast.format_report(frame))
    return {"forecast_rows": len(frame)}


churn_predictions = _predictive_mart(
    PREDICTIONS_KEY,
    FEATURE_MARTS,
    {"python", "scikit-learn", "duckdb"},
    "Churn score and rank of every user active on the last day of data "
    "(marts.fct_churn_predictions), from a model refitted on the latest labelled cutoff.",
    _score,
    _not_enough_history,
)
churn_model_evaluation = _predictive_mart(
    EVALUATION_KEY,
    FEATURE_MARTS,
    {"python", "scikit-learn", "duckdb"},
    "The churn model's backtest at several labelled cutoffs against its baselines "
    "(marts.fct_churn_model_evaluation), read by the dashboard's model page.",
    _backtest,
    _not_enough_history,
)
revenue_forecast = _predictive_mart(
    FORECAST_KEY,
    FORECAST_MARTS,
    {"python", "statsmodels", "duckdb"},
    "Revenue forecast for the next 30 days and the next month, with its held-out "
    "error against naive baselines (marts.fct_revenue_forecast).",
    _forecast,
    lambda: ValueError,  # predictive/revenue_forecast.py: too short a series
)
