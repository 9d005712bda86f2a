"""The exchange's operational (OLTP) schema in PostgreSQL, as the design document draws it.

One table per source table of the landing contract (``ingestion/contract.py``: the design
document's DDL plus ``login_events``, ``support_tickets`` and ``external_prices``), with the
design document's primary keys, unique constraints, NOT NULLs, enumerations (as CHECK
constraints: ``ENUM(...)`` in the document is MySQL syntax) and UUID columns. Where this schema
departs from the document, on purpose:

* Decimals are ``numeric(20,8)`` everywhere (the document narrows some, e.g. fee rates to
  ``decimal(5,4)``): the landing contract types them all ``decimal(20,8)``, and a narrower
  column would round what the source sent, so an extract would not match a file load.
* ``ip_address`` is ``text``, not ``inet``: the OLTP must hold exactly what the source sent.
* Foreign keys are indexed but not declared: the simulated sources carry planted faults (fills
  of an order whose row was malformed and quarantined), and an operational copy that refused
  them could not reproduce what the warehouse must catch.
* ``PARTITION BY RANGE`` on the event time is replaced by a b-tree index on it: a partitioned
  table's primary key must contain the partition column, which the document's keys do not.
* Every table has ``_changed_at timestamptz``: when the row was inserted or last changed, set
  by the database (column default and a ``BEFORE UPDATE`` trigger), indexed with the primary
  key. The incremental extractor uses it as its cursor, so rows inserted late (an old
  ``executed_at``) and changes of tables without ``updated_at`` (a support ticket solved, a
  compliance alert completed) are extracted too. Without it the extractor falls back to
  ``updated_at``, then the event time (see loader/extractor.py).
* A **tombstone table** ``_deletions`` (``deletion_id``, ``table_name``, ``row_key``,
  ``deleted_at``): an ``AFTER DELETE`` trigger on every table records each deleted row's
  primary key (the key columns' text joined by ``|``). The extractor lands it as
  ``raw._deletions`` and staging marks deleted entities; what a delete means per table is in
  docs/deletes.md (facts are never removed from the warehouse).
"""

from __future__ import annotations

from dataclasses import dataclass

from ingestion.contract import TABLES, Column, SourceTable

from .connection import qualified, quote_ident

CHANGED_AT = "_changed_at"
DELETIONS = "_deletions"
ROW_KEY_SEPARATOR = "|"
DEFAULT_SCHEMA = "exchange_oltp"

# Columns that the design document types UUID (and the ids of the two tables it gives no DDL).
UUID_COLUMNS: dict[str, tuple[str, ...]] = {
    "users": ("user_id", "referred_by"),
    "user_kyc": ("user_id",),
    "orders": ("order_id", "user_id"),
    "trades": ("trade_id", "order_id", "user_id"),
    "wallets": ("wallet_id", "user_id"),
    "transactions": ("transaction_id", "user_id", "reference_id"),
    "fee_collections": ("fee_id", "user_id"),
    "order_book_snapshots": ("snapshot_id",),
    "security_events": ("event_id", "user_id"),
    "compliance_alerts": ("alert_id", "user_id", "transaction_id"),
    "system_metrics": ("metric_id",),
    "login_events": ("event_id", "user_id"),
    "support_tickets": ("ticket_id", "user_id"),
    "marketing_campaigns": ("user_id",),
}

# UNIQUE constraints of the design document besides the primary keys.
UNIQUE_KEYS: dict[str, tuple[tuple[str, ...], ...]] = {
    "users": (("email",),),
    "trading_pairs": (("symbol",),),
    "wallets": (("user_id", "asset"),),
}

# Defaults the design document declares.
DEFAULTS: dict[tuple[str, str], str] = {
    ("users", "created_at"): "current_timestamp",
    ("user_tiers", "minimum_balance_requirement"): "0",
    ("user_kyc", "kyc_level"): "0",
    ("trading_pairs", "created_at"): "current_timestamp",
    ("orders", "filled_quantity"): "0",
    ("orders", "created_at"): "current_timestamp",
    ("trades", "executed_at"): "current_timestamp",
    ("wallets", "balance"): "0",
    ("wallets", "locked_balance"): "0",
    ("wallets", "updated_at"): "current_timestamp",
    ("transactions", "created_at"): "current_timestamp",
    ("fee_collections", "collected_at"): "current_timestamp",
    ("security_events", "created_at"): "current_timestamp",
    ("compliance_alerts", "created_at"): "current_timestamp",
    ("system_metrics", "recorded_at"): "current_timestamp",
}

# Columns referencing another table (indexed: the joins and lookups an OLTP serves).
REFERENCE_COLUMNS = ("user_id", "order_id", "pair_id", "trading_pair_id", "transaction_id")

PG_TYPES = {
    "varchar": "text",
    "integer": "integer",
    "decimal": "numeric(20,8)",
    "timestamp": "timestamp",
    "boolean": "boolean",
}


def pg_type(table: SourceTable, column: Column) -> str:
    if column.name in UUID_COLUMNS.get(table.name, ()):
        return "uuid"
    return PG_TYPES[column.type]


@dataclass(frozen=True)
class OltpTable:
    """A source table as the OLTP schema holds it."""

    spec: SourceTable
    schema: str

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def qualified(self) -> str:
        return qualified(self.schema, self.spec.name)

    @property
    def columns(self) -> list[str]:
        return self.spec.column_names

    @property
    def primary_key(self) -> tuple[str, ...]:
        return self.spec.primary_key

    def types(self) -> dict[str, str]:
        return {c.name: pg_type(self.spec, c) for c in self.spec.columns}

    def ddl(self) -> list[str]:
        spec, name = self.spec, self.spec.name
        lines = []
        for c in spec.columns:
            line = f"{quote_ident(c.name)} {pg_type(spec, c)}"
            if (name, c.name) in DEFAULTS:
                line += f" default {DEFAULTS[(name, c.name)]}"
            if c.required or c.name in spec.primary_key:
                line += " not null"
            checks = []
            if c.enum:
                values = ", ".join("'" + v.replace("'", "''") + "'" for v in c.enum)
                checks.append(f"{quote_ident(c.name)} in ({values})")
            if c.positive:
                checks.append(f"{quote_ident(c.name)} > 0")
            if checks:
                line += f" check ({' and '.join(checks)})"
            lines.append(line)
        lines.append(f"{quote_ident(CHANGED_AT)} timestamptz not null default clock_timestamp()")
        lines.append(f"primary key ({', '.join(map(quote_ident, spec.primary_key))})")
        for key in UNIQUE_KEYS.get(name, ()):
            lines.append(f"unique ({', '.join(map(quote_ident, key))})")
        statements = [
            f"create table if not exists {self.qualified} (\n    " + ",\n    ".join(lines) + "\n)",
            f"comment on table {self.qualified} is "
            + "'"
            + spec.description.replace("'", "''")
            + "'",
        ]
        indexed: set[tuple[str, ...]] = {spec.primary_key, *UNIQUE_KEYS.get(name, ())}
        wanted: list[tuple[str, ...]] = []
        event = spec.column(spec.event_time) if spec.event_time in spec.column_names else None
        if event is not None and event.type == "timestamp":
            wanted.append((spec.event_time,))
        wanted += [(c,) for c in REFERENCE_COLUMNS if c in spec.column_names]
        for key in wanted:
            if any(existing[: len(key)] == key for existing in indexed):
                continue  # a key starting with these columns serves the lookups already
            indexed.add(key)
            index_name = f"{name}_{'_'.join(key)}_idx"
            statements.append(
                f"create index if not exists {quote_ident(index_name)} "
                f"on {self.qualified} ({', '.join(map(quote_ident, key))})"
            )
        cursor_key = (CHANGED_AT, *spec.primary_key)
        statements.append(
            f"create index if not exists {quote_ident(f'{name}_changed_at_idx')} "
            f"on {self.qualified} ({', '.join(map(quote_ident, cursor_key))})"
        )
        statements.append(
            f"create or replace trigger {quote_ident(f'{name}_touch_changed_at')} before update "
            f"on {self.qualified} for each row when (old.* is distinct from new.*) "
            f"execute function {quote_ident(self.schema)}.touch_changed_at()"
        )
        key_arguments = ", ".join("'" + c + "'" for c in spec.primary_key)
        statements.append(
            f"create or replace trigger {quote_ident(f'{name}_record_deletion')} after delete "
            f"on {self.qualified} for each row "
            f"execute function {quote_ident(self.schema)}.record_deletion({key_arguments})"
        )
        return statements


def oltp_tables(schema: str, names: list[str] | None = None) -> list[OltpTable]:
    return [OltpTable(TABLES[n], schema) for n in (names or list(TABLES))]


def create_schema_sql(schema: str, tables: list[OltpTable]) -> list[str]:
    """Idempotent DDL: the schema, the trigger function, every table with its keys and indexes."""
    statements = [
        f"create schema if not exists {quote_ident(schema)}",
        f"""create or replace function {quote_ident(schema)}.touch_changed_at() returns trigger
language plpgsql as $$
begin
    new.{CHANGED_AT} := clock_timestamp();
    return new;
end
$$""",
        # Tombstones (docs/deletes.md): one row per deleted row, in the order of the deletes.
        f"""create table if not exists {qualified(schema, DELETIONS)} (
    deletion_id bigint generated always as identity primary key,
    table_name text not null,
    row_key text not null,
    deleted_at timestamptz not null default clock_timestamp()
)""",
        f"comment on table {qualified(schema, DELETIONS)} is 'Tombstones: the primary key of "
        "every row deleted from the tables of this schema (trigger record_deletion).'",
        f"create index if not exists {quote_ident(DELETIONS + '_cursor_idx')} "
        f"on {qualified(schema, DELETIONS)} (deleted_at, deletion_id)",
        # The trigger's arguments are the table's key columns, read from the deleted row as text.
        f"""create or replace function {quote_ident(schema)}.record_deletion() returns trigger
language plpgsql as $$
begin
    insert into {qualified(schema, DELETIONS)} (table_name, row_key)
    select tg_table_name, string_agg(to_jsonb(old) ->> k.key_column, '{ROW_KEY_SEPARATOR}'
        order by k.position)
    from unnest(tg_argv) with ordinality as k(key_column, position);
    return old;
end
$$""",
    ]
    for table in tables:
        statements += table.ddl()
    return statements


def ensure_schema(con, schema: str, tables: list[OltpTable]) -> None:
    with con.cursor() as cur:
        # Two sessions creating the same schema at once would race on the catalog.
        cur.execute("select pg_advisory_xact_lock(hashtext(%s))", [f"oltp-ddl:{schema}"])
        for statement in create_schema_sql(schema, tables):
            cur.execute(statement)
    con.commit()
