"""The exchange's operational PostgreSQL database as a source, and PostgreSQL as a dbt target.

Three jobs, one subpackage each, each a function and a subcommand of
``python -m ingestion.postgres``:

* ``source/`` -- source side, a demo: ``populate-oltp`` (:func:`populate_oltp`) loads a
  landing directory (usually the simulator's) into an OLTP schema with the design document's
  tables, keys and indexes (latest version per key, upserts): the "production database" to
  extract from. A real deployment has its own operational database and never runs it.
* ``loader/`` -- the production loader path: ``extract`` (:func:`extract`) reads that database
  into the DuckDB warehouse's raw tables, incrementally by cursor, through Parquet batches and
  the file loader's ``load_table``.
* ``serving/`` -- serving: ``publish-raw`` (:func:`publish_raw`) copies the DuckDB warehouse's
  raw schema to PostgreSQL schema ``raw``, incrementally by load id, for
  ``dbt build --target postgres`` (which builds the marts there).

Shared by the three: ``connection.py`` (DSNs, identifiers), ``oltp_schema.py`` (the operational
database's tables, as populated and as extracted) and ``pg_types.py`` (type mappings).

The DSN comes from ``--dsn`` or ``$EXCHANGE_POSTGRES_DSN``; a password comes from
``PGPASSWORD`` or ``~/.pgpass`` (libpq), never from the command line or a file in the repo.
"""

from .connection import DEFAULT_DSN, DSN_ENV, connect, default_dsn
from .loader.extractor import Cursor, ExtractError, ExtractReport, extract
from .oltp_schema import DEFAULT_SCHEMA, create_schema_sql, oltp_tables
from .serving.publish import PublishReport, publish_raw
from .source.populate import PopulateReport, populate_oltp

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
