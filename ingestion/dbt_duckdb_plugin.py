"""dbt-duckdb plugin (named in profiles.yml): session setup that per-cursor settings can't do.

- The PII hashing key goes into a session variable: models call `getvariable('pii_hash_key')`
  (macros/pii.sql), so the key never appears in compiled SQL, in target/ or in logs;
  profiles.yml reads it from DBT_ENV_SECRET_PII_HASH_KEY.
- The spill directory is set once for the database.
"""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict) -> None:
        self.pii_hash_key = str(plugin_config.get("pii_hash_key") or "")
        if not self.pii_hash_key:
            raise ValueError("pii_hash_key is empty: set DBT_ENV_SECRET_PII_HASH_KEY")
        if len(self.pii_hash_key.encode()) > 64:
            raise ValueError("DBT_ENV_SECRET_PII_HASH_KEY must be at most 64 bytes")
        self.temp_directory = plugin_config.get("temp_directory")

    def configure_connection(self, conn) -> None:
        if self.temp_directory:
            conn.execute("set temp_directory = ?", [str(self.temp_directory)])
        conn.execute("set variable pii_hash_key = ?", [self.pii_hash_key])

    def configure_cursor(self, cursor) -> None:
        # DuckDB variables belong to one connection; dbt runs each thread on a cursor copy.
        cursor.execute("set variable pii_hash_key = ?", [self.pii_hash_key])
