"""Serving: the DuckDB warehouse's raw schema published to PostgreSQL, incrementally by load
id, for `dbt build --target postgres` (publish.py)."""
