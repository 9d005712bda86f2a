"""Predictive analytics on the marts: churn prediction and the evaluation of KPI anomaly detection.

- `predictive.churn_model`: point-in-time features from `marts.fct_user_daily_activity` and
  `marts.dim_users`, a time-based backtest, and `marts.fct_churn_predictions` for every
  currently active trader.
- `predictive.anomalies`: checks `marts.fct_kpi_anomalies` against the anomalies the simulator
  planted (`<landing>/_simulator/planted_cases.csv`).

Command line: `python -m predictive evaluate --warehouse FILE --landing DIR` prints both
evaluation reports; `python -m predictive score --warehouse FILE` writes the predictions.
"""
