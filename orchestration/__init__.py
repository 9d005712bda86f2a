"""Dagster orchestration of the warehouse: landing files -> raw tables -> dbt -> alerts.

The code location is :mod:`orchestration.definitions` (``dagster dev -m
orchestration.definitions -h 127.0.0.1``). This package file stays import-light: importing
``orchestration`` loads neither Dagster nor dbt.

Modules: ``dbt_project`` (the dbt project, loaded once), ``dbt_args`` (the dbt arguments of
every build of the data), ``partitions`` (daily partitions and the dbt vars of a partition
window), ``resources`` (warehouse, landing directory, webhook, dbt),
``assets`` (loaders, dbt models, alert notifications, the daily report), ``checks`` (Great
Expectations gates on the raw tables, freshness), ``jobs``, ``schedules``, ``sensors``, and
``alerts`` (the webhook sender, without Dagster).
"""
