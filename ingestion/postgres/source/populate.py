"""A landing directory -> the exchange's operational schema in PostgreSQL (``populate-oltp``).

This plays the exchange's production database for the extractor: every source table of the
landing contract, one row per primary key holding its latest version, as an OLTP would.

How: the landing files are read by the file loader (``ingestion.loaders.load_landing``) into a
scratch DuckDB file, so they are typed and checked exactly as a warehouse load checks them (bad
rows quarantined there and reported here, never in the OLTP). From it, the latest version of
each key (the highest ``updated_at`` where the table has one, else the last loaded; the rule of
``macros/latest_version.sql``) goes by ``COPY`` into a temporary table and from there into the
OLTP table with an upsert that:

* inserts new keys;
* updates a key only when a value changed, and, for a table with ``updated_at``, only when the
  incoming version is not older than the stored one;
* leaves unchanged rows untouched, so their ``_changed_at`` stays and the extractor does not
  move them again.

So it can run again with the same directory (nothing changes) or with newer files (only what
changed is written). Each table is one transaction.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from ingestion.loaders import LoaderSettings, load_landing
from ingestion.loaders.files import resolve_tables
from ingestion.loaders.readers import sql_literal
from warehouse import open_scratch

from ..connection import check_identifier, connect, quote_ident, redact
from ..oltp_schema import DEFAULT_SCHEMA, UUID_COLUMNS, OltpTable, ensure_schema, oltp_tables

log = logging.getLogger("ingestion.postgres")


@dataclass
class TablePopulation:
    table: str
    rows_latest: int = 0  # keys in the landing files (latest versions), after the checks
    rows_rejected: int = 0  # latest versions whose ids are not UUIDs: not written
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rows_quarantined_by_loader: int = 0
    seconds: float = 0.0


@dataclass
class PopulateReport:
    landing: str
    dsn: str
    schema: str
    tables: dict[str, TablePopulation] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {
            "landing": self.landing,
            "dsn": self.dsn,
            "schema": self.schema,
            "seconds": round(self.seconds, 2),
            "tables": {name: asdict(t) for name, t in self.tables.items()},
        }

    def summary(self) -> str:
        head = f"{'table':<22}{'latest':>10}{'inserted':>10}{'updated':>10}{'unchanged':>11}"
        head += f"{'rejected':>10}{'quarantined':>13}"
        lines = [f"populate-oltp {self.landing} -> {self.dsn} schema {self.schema}", head]
        for t in self.tables.values():
            lines.append(
                f"{t.table:<22}{t.rows_latest:>10}{t.inserted:>10}{t.updated:>10}"
                f"{t.unchanged:>11}{t.rows_rejected:>10}{t.rows_quarantined_by_loader:>13}"
            )
        lines.append(f"({self.seconds:.1f}s)")
        return "\n".join(lines)


def _latest_sql(table: OltpTable) -> str:
    spec = table.spec
    order = []
    if spec.version_column:
        order.append(f"{quote_ident(spec.version_column)} desc nulls last")
    order += ["_loaded_at desc", "_source_file desc", "_row_number desc"]
    keys = ", ".join(map(quote_ident, spec.primary_key))
    return (
        f"select * from raw.{quote_ident(spec.name)}\n"
        f"qualify row_number() over (partition by {keys} order by {', '.join(order)}) = 1"
    )


def _uuid_check(table: OltpTable) -> str:
    checks = [
        f"({quote_ident(c)} is null or try_cast({quote_ident(c)} as uuid) is not null)"
        for c in UUID_COLUMNS.get(table.name, ())
    ]
    return " and ".join(checks) or "true"


def _export(
    scratch: duckdb.DuckDBPyConnection, table: OltpTable, csv_path: Path
) -> tuple[int, int]:
    """Write the latest versions that fit the OLTP types to a CSV file; (written, rejected)."""
    columns = ", ".join(map(quote_ident, table.columns))
    check = _uuid_check(table)
    scratch.execute(f"create or replace temp table latest as {_latest_sql(table)}")
    total, good = scratch.execute(
        f"select count(*), count(*) filter (where {check}) from latest"
    ).fetchone()
    scratch.execute(
        f"copy (select {columns} from latest where {check}) to {sql_literal(str(csv_path))} "
        "(header, delimiter ',')"
    )
    scratch.execute("drop table latest")
    if total != good:
        log.warning(
            "%s: %d rows with an id that is not a UUID not written", table.name, total - good
        )
    return good, total - good


def upsert_sql(table: OltpTable, source: str) -> str:
    """INSERT ... ON CONFLICT that writes new keys and changed rows only; counts both."""
    columns = table.columns
    names = ", ".join(map(quote_ident, columns))
    keys = ", ".join(map(quote_ident, table.primary_key))
    values = [c for c in columns if c not in table.primary_key]
    assignments = ", ".join(f"{quote_ident(c)} = excluded.{quote_ident(c)}" for c in values)
    current = ", ".join(f"target.{quote_ident(c)}" for c in values)
    incoming = ", ".join(f"excluded.{quote_ident(c)}" for c in values)
    condition = f"({current}) is distinct from ({incoming})"
    version = table.spec.version_column
    if version:
        v = quote_ident(version)
        condition += (
            f"\n        and (target.{v} is null or (excluded.{v} is not null "
            f"and excluded.{v} >= target.{v}))"
        )
    return f"""with upserted as (
    insert into {table.qualified} as target ({names})
    select {names} from {source}
    on conflict ({keys}) do update set {assignments}
    where {condition}
    returning (xmax = 0) as is_insert
)
select count(*) filter (where is_insert), count(*) filter (where not is_insert) from upserted"""


def _write(con, table: OltpTable, csv_path: Path) -> tuple[int, int]:
    names = ", ".join(map(quote_ident, table.columns))
    with con.cursor() as cur:
        cur.execute(
            f"create temp table incoming on commit drop as "
            f"select {names} from {table.qualified} with no data"
        )
        with open(csv_path, encoding="utf-8") as fh:
            cur.copy_expert(
                f"copy incoming ({names}) from stdin with (format csv, header true)", fh
            )
        cur.execute(upsert_sql(table, "incoming"))
        inserted, updated = cur.fetchone()
    con.commit()
    return inserted, updated


def populate_oltp(
    landing: str | Path,
    dsn: str,
    schema: str = DEFAULT_SCHEMA,
    tables: list[str] | str | None = None,
    *,
    work_dir: str | Path | None = None,
    settings: LoaderSettings | None = None,
) -> PopulateReport:
    """Load a landing directory into the OLTP schema (created when missing); see the module doc.

    ``work_dir`` keeps the scratch DuckDB file between runs (a re-run then reads only the new
    landing files); by default a temporary directory is used and removed.
    """
    started = time.perf_counter()
    check_identifier(schema)
    landing = Path(landing)
    if not landing.is_dir():
        raise FileNotFoundError(f"landing directory {landing} does not exist")
    names = resolve_tables(tables)
    report = PopulateReport(str(landing), redact(dsn), schema)
    targets = oltp_tables(schema, names)
    with contextlib.ExitStack() as stack:
        if work_dir is None:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="oltp_populate_")))
        else:
            work = Path(work_dir)
            work.mkdir(parents=True, exist_ok=True)
        scratch_path = work / "landing.duckdb"
        load = load_landing(landing, scratch_path, names, settings=settings)
        con = connect(dsn)
        stack.callback(con.close)
        ensure_schema(con, schema, targets)
        scratch = stack.enter_context(open_scratch(scratch_path, read_only=True))
        for table in targets:
            t0 = time.perf_counter()
            result = TablePopulation(table.name)
            result.rows_quarantined_by_loader = load.tables[table.name].rows_quarantined
            csv_path = work / f"{table.name}.csv"
            result.rows_latest, result.rows_rejected = _export(scratch, table, csv_path)
            result.inserted, result.updated = _write(con, table, csv_path)
            result.unchanged = result.rows_latest - result.inserted - result.updated
            csv_path.unlink()
            result.seconds = time.perf_counter() - t0
            report.tables[table.name] = result
            log.info(
                "%s: %d inserted, %d updated, %d unchanged",
                table.name,
                result.inserted,
                result.updated,
                result.unchanged,
            )
    report.seconds = time.perf_counter() - started
    return report
