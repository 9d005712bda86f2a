"""Where API prices land: ``raw.external_prices``, its cursors and the quarantine.

``raw.external_prices`` is the table the file loader fills from the landing directory: the
contract columns (source, asset, price_usd, observed_at) and the provenance columns
(``_load_id``, ``_source_file`` = the request URL, ``_row_number`` = the record in the response,
``_loaded_at``). A row whose (source, asset, observed_at) is already there with the same price,
from a file or an earlier run, is not written again. Duplicates follow the file loader's rule
(:func:`keep_latest_delivery`): the latest delivery of a key wins, and a differing value is
reported as a conflict.

``raw._external_price_cursors``: per source and asset, the latest ``observed_at`` loaded; the
next run asks the API only for what is newer. Without a cursor row the latest ``observed_at``
already in ``raw.external_prices`` for that source and asset serves.

``raw._quarantine`` (shared with the file loader): records of a response that cannot be rows.
A record already quarantined (same table, reason and original values) is not quarantined again
on the next run, so re-running against an API that keeps serving the same bad records leaves
the quarantine as it was.

A run's rows, quarantine rows and cursor moves are written in ONE transaction: a run that
fails (or is killed) leaves the warehouse as it was. Works on DuckDB (through the file
loader's lock) and on PostgreSQL (psycopg2 connection).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import duckdb

from ingestion.contract import TABLES
from ingestion.loaders.versions import keep_latest

from .observations import PriceObservation, RejectedRecord

RAW_SCHEMA = "raw"
PRICES = f"{RAW_SCHEMA}.external_prices"
CURSORS = f"{RAW_SCHEMA}._external_price_cursors"
QUARANTINE = f"{RAW_SCHEMA}._quarantine"
TABLE_NAME = "external_prices"
QUARANTINE_COLUMNS = (
    "table_name",
    "source_file",
    "row_number",
    "reason",
    "record",
    "load_id",
    "quarantined_at",
)
CURSOR_COLUMNS = ("source", "asset", "last_observed_at", "last_load_id", "updated_at")
PRICE_COLUMNS = (
    "source",
    "asset",
    "price_usd",
    "observed_at",
    "_load_id",
    "_source_file",
    "_row_number",
    "_loaded_at",
)


@dataclass(frozen=True)
class Dialect:
    name: str
    placeholder: str
    types: dict[str, str]


DUCKDB = Dialect(
    "duckdb",
    "?",
    {
        "varchar": "VARCHAR",
        "integer": "INTEGER",
        "decimal": "DECIMAL(20,8)",
        "timestamp": "TIMESTAMP",
        "boolean": "BOOLEAN",
        "bigint": "BIGINT",
    },
)
POSTGRES = Dialect(
    "postgres",
    "%s",
    {
        "varchar": "TEXT",
        "integer": "INTEGER",
        "decimal": "NUMERIC(20,8)",
        "timestamp": "TIMESTAMP",
        "boolean": "BOOLEAN",
        "bigint": "BIGINT",
    },
)


def dialect_of(con: Any) -> Dialect:
    """DuckDB for a DuckDB connection, else PostgreSQL (a psycopg2 connection)."""
    return DUCKDB if isinstance(con, duckdb.DuckDBPyConnection) else POSTGRES


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --------------------------------------------------------------------------------------
# THE DUPLICATE RULE (issue 18 item 7; to be unified with the file loader's rule, which lives
# in macros/latest_version.sql): same key and same version -> keep the row from the LATEST
# delivery and REPORT the conflict when the values differ. The file loader keeps every
# delivered row in raw and staging picks the latest (loaded_at, file, row number); this loader
# applies the same order before it writes: within a run, the later record (later request, then
# higher record number) wins; against raw, a differing price is written as a newer delivery
# (so staging's latest_version keeps it), an equal one is skipped. The same input therefore
# stores the same price whichever loader brought it.


@dataclass(frozen=True)
class PriceConflict:
    """Two deliveries of one key with different prices: which was kept, which lost."""

    source: str
    asset: str
    observed_at: dt.datetime
    kept_price: Decimal
    other_price: Decimal
    kept_from: str
    other_from: str

    def describe(self) -> str:
        return (
            f"{self.source} {self.asset} {self.observed_at.isoformat()}: kept {self.kept_price} "
            f"(latest delivery, {self.kept_from}), not {self.other_price} ({self.other_from})"
        )


def keep_latest_delivery(
    observations: Sequence[PriceObservation],
) -> tuple[list[PriceObservation], list[PriceConflict]]:
    """One observation per key by the file loader's rule (ingestion/loaders/versions.py:
    ``keep_latest``; ``observations`` are in delivery order: request order, records in
    response order), so the same input stores the same price whichever loader reads it; a
    differing price delivered earlier is a conflict."""
    rows = [{**dataclasses.asdict(o), "_observation": o} for o in observations]
    kept, _ = keep_latest(rows, "external_prices")
    winners = [row["_observation"] for row in kept]
    latest = {o.key: o for o in winners}
    conflicts = [
        PriceConflict(
            o.source,
            o.asset,
            o.observed_at,
            latest[o.key].price_usd,
            o.price_usd,
            f"{latest[o.key].source_url} record {latest[o.key].row_number}",
            f"{o.source_url} record {o.row_number}",
        )
        for o in observations
        if o is not latest[o.key] and o.price_usd != latest[o.key].price_usd
    ]
    return winners, conflicts


class PriceStore:
    """Reads cursors and writes a run's rows, on a DuckDB or a psycopg2 connection."""

    def __init__(self, con: Any, schema: str = RAW_SCHEMA):
        self.con = con
        self.dialect = dialect_of(con)
        self.schema = quote_ident(schema)  # a setting, but never trusted as SQL
        self.prices = f"{self.schema}.external_prices"
        self.cursors_table = f"{self.schema}._external_price_cursors"
        self.quarantine = f"{self.schema}._quarantine"

    # -- plumbing ------------------------------------------------------------------------

    def _sql(self, sql: str) -> str:
        return sql.replace("?", self.dialect.placeholder) if self.dialect is POSTGRES else sql

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        if self.dialect is DUCKDB:
            result = self.con.execute(sql, list(params))
            return result.fetchall() if result.description else []
        with self.con.cursor() as cursor:
            cursor.execute(self._sql(sql), tuple(params))
            return cursor.fetchall() if cursor.description else []

    def _insert(
        self, table: str, columns: Sequence[str], rows: list[Sequence[Any]], suffix: str = ""
    ) -> None:
        """Insert many rows at once: through Arrow on DuckDB (``executemany`` there costs
        milliseconds per row), ``execute_values`` on PostgreSQL."""
        if not rows:
            return
        names = ", ".join(columns)
        if self.dialect is DUCKDB:
            import pyarrow as pa

            data = pa.table({c: pa.array([r[i] for r in rows]) for i, c in enumerate(columns)})
            self.con.register("_external_price_rows", data)
            try:
                self.con.execute(
                    f"INSERT INTO {table} ({names}) "
                    f"SELECT {names} FROM _external_price_rows {suffix}"
                )
            finally:
                self.con.unregister("_external_price_rows")
        else:
            from psycopg2.extras import execute_values

            with self.con.cursor() as cursor:
                execute_values(
                    cursor,
                    f"INSERT INTO {table} ({names}) VALUES %s {suffix}",
                    rows,
                    page_size=1000,
                )

    def _begin(self) -> None:
        if self.dialect is DUCKDB:
            self.con.execute("BEGIN TRANSACTION")
        # psycopg2 opens a transaction with the first statement

    def _commit(self) -> None:
        self.con.commit() if self.dialect is POSTGRES else self.con.execute("COMMIT")

    def _rollback(self) -> None:
        self.con.rollback() if self.dialect is POSTGRES else self.con.execute("ROLLBACK")

    # -- tables --------------------------------------------------------------------------

    def ensure_tables(self) -> None:
        """Create the raw tables if the file loader has not (same columns and types)."""
        types = self.dialect.types
        table = TABLES[TABLE_NAME]
        columns = [f"{c.name} {types[c.type]}" for c in table.columns]
        columns += [
            "_load_id " + types["varchar"],
            "_source_file " + types["varchar"],
            "_row_number " + types["bigint"],
            "_loaded_at " + types["timestamp"],
        ]
        statements = [
            f"CREATE SCHEMA IF NOT EXISTS {self.schema}",
            f"CREATE TABLE IF NOT EXISTS {self.prices} ({', '.join(columns)})",
            f"""CREATE TABLE IF NOT EXISTS {self.cursors_table} (
                source {types["varchar"]} NOT NULL,
                asset {types["varchar"]} NOT NULL,
                last_observed_at {types["timestamp"]} NOT NULL,
                last_load_id {types["varchar"]} NOT NULL,
                updated_at {types["timestamp"]} NOT NULL,
                PRIMARY KEY (source, asset)
            )""",
            f"""CREATE TABLE IF NOT EXISTS {self.quarantine} (
                table_name {types["varchar"]} NOT NULL,
                source_file {types["varchar"]} NOT NULL,
                row_number {types["bigint"]},
                reason {types["varchar"]} NOT NULL,
                record {types["varchar"]},
                load_id {types["varchar"]} NOT NULL,
                quarantined_at {types["timestamp"]} NOT NULL
            )""",
        ]
        for statement in statements:
            self._execute(statement)
        if self.dialect is POSTGRES:
            self.con.commit()

    # -- reads ---------------------------------------------------------------------------

    def cursors(self, source: str, assets: Iterable[str]) -> dict[str, dt.datetime]:
        """The latest observed_at loaded per asset of ``source`` (cursor table, else the data)."""
        found = dict(
            self._execute(
                f"SELECT asset, last_observed_at FROM {self.cursors_table} WHERE source = ?",
                [source],
            )
        )
        loaded = dict(
            self._execute(
                f"SELECT asset, max(observed_at) FROM {self.prices} WHERE source = ? "
                "GROUP BY asset",
                [source],
            )
        )
        result = {}
        for asset in assets:
            value = found.get(asset) or loaded.get(asset)
            if value is not None:
                result[asset] = value
        return result

    def existing_prices(
        self, observations: Sequence[PriceObservation]
    ) -> dict[tuple, tuple[Decimal, str]]:
        """Per key of ``observations`` already in raw.external_prices: the price of its latest
        delivery (the order staging's latest_version uses) and where it came from."""
        found: dict[tuple, tuple[Decimal, str]] = {}
        by_series: dict[tuple[str, str], list[dt.datetime]] = {}
        for o in observations:
            by_series.setdefault((o.source, o.asset), []).append(o.observed_at)
        for (source, asset), times in by_series.items():
            rows = self._execute(
                f"SELECT observed_at, price_usd, _source_file, _row_number FROM {self.prices} "
                "WHERE source = ? AND asset = ? AND observed_at BETWEEN ? AND ? "
                "ORDER BY observed_at, _loaded_at, _source_file, _row_number",
                [source, asset, min(times), max(times)],
            )
            for observed_at, price, source_file, row_number in rows:  # the last one wins
                found[(source, asset, observed_at)] = (
                    Decimal(price),
                    f"{source_file} record {row_number}",
                )
        return found

    def existing_keys(self, observations: Sequence[PriceObservation]) -> set[tuple]:
        """Keys of ``observations`` already in raw.external_prices."""
        return set(self.existing_prices(observations))

    def new_rejects(self, rejects: Sequence[RejectedRecord]) -> list[RejectedRecord]:
        """The rejects not yet in the quarantine: a record is known by its table, reason and
        original values (its URL may differ between runs, e.g. the ``days`` parameter)."""
        unique: dict[tuple[str, str], RejectedRecord] = {}
        for r in rejects:
            unique.setdefault((_reject_reason(r), _reject_record(r)), r)
        if not unique:
            return []
        known: set[tuple[str, str]] = set()
        reasons = sorted({reason for reason, _ in unique})
        for start in range(0, len(reasons), 500):
            chunk = reasons[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            known.update(
                (reason, record)
                for reason, record in self._execute(
                    f"SELECT reason, record FROM {self.quarantine} "
                    f"WHERE table_name = ? AND reason IN ({marks})",
                    [TABLE_NAME, *chunk],
                )
            )
        return [r for key, r in unique.items() if key not in known]

    # -- the write -----------------------------------------------------------------------

    def write(
        self,
        load_id: str,
        observations: Sequence[PriceObservation],
        rejects: Sequence[RejectedRecord],
        loaded_at: dt.datetime | None = None,
    ) -> WriteResult:
        """Write a run in one transaction: the latest delivery of each key (written unless raw
        already holds that price as its latest), the rejects not quarantined before, and the
        cursors. ``observations`` are in delivery order."""
        loaded_at = loaded_at or _utc_now()
        kept, conflicts = keep_latest_delivery(observations)
        self._begin()
        try:
            existing = self.existing_prices(kept)
            new_rows = []
            for o in sorted(kept, key=lambda o: (o.source, o.asset, o.observed_at)):
                stored = existing.get(o.key)
                if stored is not None:
                    if stored[0] == o.price_usd:
                        continue  # already loaded: never a row twice
                    conflicts.append(
                        PriceConflict(
                            o.source,
                            o.asset,
                            o.observed_at,
                            o.price_usd,
                            stored[0],
                            f"{o.source_url} record {o.row_number}",
                            stored[1],
                        )
                    )
                new_rows.append(
                    (
                        o.source,
                        o.asset,
                        o.price_usd,
                        o.observed_at,
                        load_id,
                        o.source_url,
                        o.row_number,
                        loaded_at,
                    )
                )
            self._insert(self.prices, PRICE_COLUMNS, new_rows)
            fresh_rejects = self.new_rejects(rejects)
            self._insert(
                self.quarantine,
                QUARANTINE_COLUMNS,
                [
                    (
                        TABLE_NAME,
                        r.source_url,
                        r.row_number,
                        _reject_reason(r),
                        _reject_record(r),
                        load_id,
                        loaded_at,
                    )
                    for r in fresh_rejects
                ],
            )
            self._move_cursors(load_id, observations, loaded_at)
            self._commit()
        except BaseException:
            self._rollback()
            raise
        counts: dict[str, tuple[int, int]] = {}
        for o in observations:
            inserted, skipped = counts.get(o.source, (0, 0))
            counts[o.source] = (inserted, skipped + 1)
        for row in new_rows:
            inserted, skipped = counts[row[0]]
            counts[row[0]] = (inserted + 1, skipped - 1)
        quarantined: dict[str, int] = {}
        for r in fresh_rejects:
            quarantined[r.source] = quarantined.get(r.source, 0) + 1
        return WriteResult(counts, quarantined, conflicts)

    def _move_cursors(
        self, load_id: str, observations: Sequence[PriceObservation], now: dt.datetime
    ) -> None:
        latest: dict[tuple[str, str], dt.datetime] = {}
        for o in observations:
            key = (o.source, o.asset)
            if key not in latest or o.observed_at > latest[key]:
                latest[key] = o.observed_at
        rows = []
        for (source, asset), observed_at in sorted(latest.items()):
            current = self._execute(
                f"SELECT last_observed_at FROM {self.cursors_table} WHERE source = ? AND asset = ?",
                [source, asset],
            )
            if current and current[0][0] >= observed_at:
                continue
            rows.append((source, asset, observed_at, load_id, now))
        self._insert(
            self.cursors_table,
            CURSOR_COLUMNS,
            rows,
            "ON CONFLICT (source, asset) DO UPDATE SET "
            "last_observed_at = excluded.last_observed_at, "
            "last_load_id = excluded.last_load_id, "
            "updated_at = excluded.updated_at",
        )


@dataclass(frozen=True)
class WriteResult:
    """What a write did: per source (rows inserted, rows already loaded), per source the
    records newly quarantined, and the duplicate conflicts (see keep_latest_delivery)."""

    counts: dict[str, tuple[int, int]]
    quarantined: dict[str, int]
    conflicts: list[PriceConflict]


def _reject_reason(r: RejectedRecord) -> str:
    return f"{r.source}: {r.reason}"


def _reject_record(r: RejectedRecord) -> str:
    return json.dumps(r.record, default=_json_default, sort_keys=True)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)
