"""Command line of the predictive step.

    python -m predictive evaluate --warehouse FILE --landing DIR [--json]
        Print the evaluation report: the churn model's time-based backtest (ROC-AUC, precision
        and recall in the top decile, accuracy beside the majority-class baseline) and KPI
        anomaly detection against the planted anomalies (found / total, false alarms), and the
        revenue forecast's held-out error against its naive baselines.
        Read-only: the warehouse is not changed.

    python -m predictive score --warehouse FILE
        Refit the churn model on the latest labelled cutoff, score every currently active
        trader and replace marts.fct_churn_predictions; the backtest of every scorer (models,
        recency rule, majority baseline, lift table) replaces marts.fct_churn_model_evaluation.

    python -m predictive forecast --warehouse FILE
        Forecast revenue (next 30 days, next month) with a prediction interval and its
        held-out error against naive baselines; replace marts.fct_revenue_forecast.

Run after `dbt build` (it reads the marts). Exit codes: 0 done, 2 the warehouse cannot be
used (missing, locked by another writer, not built, too little history).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb

from warehouse import WarehouseLockedError, open_warehouse

from . import anomalies, churn_model, revenue_forecast


@contextlib.contextmanager
def _connect(warehouse: str, read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse, read-only or under the writer lock (warehouse/connection.py)."""
    if not Path(warehouse).exists():
        raise SystemExit(_fail(f"no warehouse file at {warehouse}: run the pipeline first"))
    with contextlib.ExitStack() as stack:
        try:
            con = stack.enter_context(open_warehouse(warehouse, read_only=read_only))
        except WarehouseLockedError as error:
            raise SystemExit(
                _fail(f"cannot open {warehouse} (another process writing it?): {error}")
            ) from None
        yield con


def _fail(message: str) -> int:
    print(f"predictive: {message}", file=sys.stderr)
    return 2


def evaluate(args: argparse.Namespace) -> int:
    with _connect(args.warehouse, read_only=True) as con:
        try:
            churn = churn_model.evaluate(con)
            anomaly = anomalies.evaluate(con, args.landing)
            forecast = revenue_forecast.build_forecasts(
                revenue_forecast.daily_revenue(con), dt.datetime.now(dt.UTC).replace(tzinfo=None)
            )
        except (churn_model.NotEnoughHistory, duckdb.CatalogException) as error:
            return _fail(str(error))
    if args.json:
        print(
            json.dumps(
                {
                    "churn_model": churn.as_dict(),
                    "anomaly_detection": anomaly.as_dict(),
                    "revenue_forecast": forecast.to_dict(orient="records"),
                },
                indent=2,
                default=str,
            )
        )
    else:
        print(churn_model.format_report(churn))
        print()
        print(anomalies.format_report(anomaly))
        print()
        print(revenue_forecast.format_report(forecast))
    return 0


def score(args: argparse.Namespace) -> int:
    with _connect(args.warehouse, read_only=False) as con:
        try:
            evaluation = churn_model.evaluate(con)
            churn_model.write_evaluation(con, evaluation)
            predictions = churn_model.predict(con)
            written = churn_model.write_predictions(con, predictions)
        except (churn_model.NotEnoughHistory, duckdb.CatalogException) as error:
            return _fail(str(error))
    print(
        f"{churn_model.PREDICTIONS_TABLE}: {written} active traders scored as of "
        f"{predictions.as_of_date} (model {predictions.model_version}, trained on "
        f"{predictions.trained_on_users} users at {predictions.trained_on_cutoff}, "
        f"horizon {predictions.horizon_days} days); backtest in "
        f"{churn_model.EVALUATION_TABLE} (chosen: {evaluation.chosen_model})"
    )
    return 0


def forecast(args: argparse.Namespace) -> int:
    with _connect(args.warehouse, read_only=False) as con:
        try:
            frame = revenue_forecast.run(con)
        except (ValueError, duckdb.CatalogException) as error:
            return _fail(str(error))
    print(revenue_forecast.format_report(frame))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m predictive", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    p_eval = commands.add_parser(
        "evaluate", help="print the churn model and anomaly detection evaluation"
    )
    p_eval.add_argument("--warehouse", required=True, help="DuckDB warehouse file (built by dbt)")
    p_eval.add_argument(
        "--landing", required=True, help="landing directory with _simulator/planted_cases.csv"
    )
    p_eval.add_argument("--json", action="store_true", help="print the figures as JSON")
    p_eval.set_defaults(run=evaluate)
    p_score = commands.add_parser(
        "score", help="score active traders, write marts.fct_churn_predictions"
    )
    p_score.add_argument("--warehouse", required=True, help="DuckDB warehouse file (built by dbt)")
    p_score.set_defaults(run=score)
    p_forecast = commands.add_parser(
        "forecast", help="forecast revenue, write marts.fct_revenue_forecast"
    )
    p_forecast.add_argument(
        "--warehouse", required=True, help="DuckDB warehouse file (built by dbt)"
    )
    p_forecast.set_defaults(run=forecast)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
