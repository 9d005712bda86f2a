"""The exchange's operational PostgreSQL database as a source, and PostgreSQL as a dbt target.

Three jobs, each a function and a subcommand of ``python -m ingestion.postgres``:

* ``populate-oltp`` (:func:`populate_oltp`): a landing directory -> an OLTP schema with the
  design document's tables, keys and indexes (latest version per key, upserts): the
  "production database" to extract from (populate.py, oltp_schema.py).
* ``extract`` (:func:`extract`): that database -> the DuckDB warehouse's raw tables,
  incrementally by cursor, through Parquet batches and the file loader's ``load_table``
  (extractor.py).
* ``publish-raw`` (:func:`publish_raw`): the DuckDB warehouse's raw schema -> PostgreSQL schema
  ``raw``, incrementally by load id, for ``dbt build --target postgres`` (publish.py).

The DSN comes from ``--dsn`` or ``$EXCHANGE_POSTGRES_DSN``; a password comes from
``PGPASSWORD`` or ``~/.pgpass`` (libpq), never from the command line or a file in the repo.
"""

from .connection import DEFAULT_DSN, DSN_ENV, connect, default_dsn
from .extractor import Cursor, ExtractError, ExtractReport, extract
from .oltp_schema import DEFAULT_SCHEMA, create_schema_sql, oltp_tables
from .populate import PopulateReport, populate_oltp
from .publish import PublishReport, publish_raw

__all__ = [
    "DEFAULT_DSN",
    "DEFAULT_SCHEMA",
    "DSN_ENV",
    "Cursor",
    "ExtractError",
    "ExtractReport",
    "PopulateReport",
    "PublishReport",
    "connect",
    "create_schema_sql",
    "default_dsn",
    "extract",
    "oltp_tables",
    "populate_oltp",
    "publish_raw",
]
