"""BigQuery: the raw tables loaded from the landing files with Parquet load jobs.

``load_table_bigquery`` / ``load_landing_bigquery`` (loader.py) validate each new landing file
with the DuckDB loader's own rules (ingestion/loaders) in a scratch DuckDB session, then send
its good rows, its quarantined rows and its ``_loaded_files`` row to BigQuery as Parquet load
jobs. docs/bigquery.md, section 3.
"""

from .loader import (
    BigQueryLoadError,
    BigQueryTableReport,
    bigquery_client,
    load_landing_bigquery,
    load_table_bigquery,
)

__all__ = [
    "BigQueryLoadError",
    "BigQueryTableReport",
    "bigquery_client",
    "load_landing_bigquery",
    "load_table_bigquery",
]
