"""Connections to PostgreSQL: one place for the session settings and for naming the server.

The DSN is a libpq connection string or URI (``postgresql://postgres@127.0.0.1:5432/test``).
A password never belongs in it: libpq reads ``PGPASSWORD`` or ``~/.pgpass``. Every session runs
in UTC, so ``timestamptz`` values print and parse the same on every machine.
"""

from __future__ import annotations

import re

import psycopg2

from warehouse import settings

DSN_ENV = "EXCHANGE_POSTGRES_DSN"
DEFAULT_DSN = settings.Settings().postgres_dsn
APPLICATION_NAME = "crypto_exchange_ingestion"

# Errors that mean the connection (not the SQL) failed: worth a reconnect and a retry.
CONNECTION_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError)


def default_dsn() -> str:
    return settings.current().postgres_dsn


def connect(dsn: str, *, application_name: str = APPLICATION_NAME):
    """A psycopg2 connection in UTC, outside autocommit (the caller commits)."""
    con = psycopg2.connect(dsn, application_name=application_name, connect_timeout=15)
    with con.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
    con.commit()
    return con


def pii_key_pgoptions(key: str) -> str:
    """PGOPTIONS that hand dbt's PostgreSQL sessions the e-mail hashing key (macros/pii.sql
    reads it with current_setting('exchange.pii_hash_key')): libpq sends it with every
    connection, so the key never appears in SQL text or in dbt's logs. Spaces and backslashes
    are escaped the way libpq's options parser expects."""
    escaped = key.replace("\\", "\\\\").replace(" ", "\\ ")
    return f"-c exchange.pii_hash_key={escaped}"


def redact(dsn: str) -> str:
    """The DSN without its password, for messages and bookkeeping rows."""
    dsn = re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", dsn)
    return re.sub(r"(password\s*=\s*)(\S+)", r"\1***", dsn, flags=re.IGNORECASE)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, table: str) -> str:
    return f"{quote_ident(schema)}.{quote_ident(table)}"


def check_identifier(name: str, what: str = "schema") -> str:
    """Schema names come from the command line: keep them to plain identifiers."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", name):
        raise ValueError(f"{what} name {name!r}: use letters, digits and underscores only")
    return name


def is_connection_error(error: BaseException) -> bool:
    return isinstance(error, CONNECTION_ERRORS) or (
        isinstance(error, psycopg2.Error)
        and getattr(error, "pgcode", None) in ("57P01", "57P02", "57P03", "08006", "08003")
    )


__all__ = [
    "CONNECTION_ERRORS",
    "DEFAULT_DSN",
    "DSN_ENV",
    "check_identifier",
    "connect",
    "default_dsn",
    "is_connection_error",
    "psycopg2",
    "qualified",
    "quote_ident",
    "redact",
]
