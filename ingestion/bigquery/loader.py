"""Landing files -> BigQuery ``raw`` dataset, keyed and idempotent like the DuckDB loader.

For each table, the files that are new this run (docs/bigquery.md, section 3):

1. The file is validated by the DuckDB loader itself (``ingestion.loaders.load_table``) in a
   scratch DuckDB session whose ``raw._loaded_files`` is first filled with BigQuery's: the same
   quarantine rules, the same skipping (a path already loaded, or content already loaded under
   another name, is not read again), the same rejection of unreadable files.
2. Their good rows go to ``raw.<table>`` and their bad rows to ``raw._quarantine``, one Parquet
   load job each (timestamps written as UTC instants, so they load as ``TIMESTAMP``). Rows an
   earlier, interrupted attempt left for those files are deleted first.
3. Only then their rows are appended to ``raw._loaded_files``: the records that make the next
   run skip them. A failed load job leaves no record, so the next run loads the files again,
   whole, and nothing twice.

``BigQueryLoadError`` lists every table whose load failed (the others are loaded).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ingestion.contract import TABLES, SourceTable
from ingestion.loaders import load_table
from ingestion.loaders.files import resolve_tables
from ingestion.loaders.raw_schema import PROVENANCE_TYPES
from ingestion.loaders.report import TableReport
from warehouse import open_scratch, settings
from warehouse.raw_schema import ensure_bookkeeping

RAW_DATASET = "raw"
# contract type -> BigQuery type (docs/bigquery.md, section 3; tooling/bigquery_check.py)
BIGQUERY_TYPES = {
    "varchar": "STRING",
    "integer": "INT64",
    "decimal": "NUMERIC",
    "timestamp": "TIMESTAMP",
    "boolean": "BOOL",
}
PROVENANCE_BIGQUERY = {"VARCHAR": "STRING", "BIGINT": "INT64", "TIMESTAMP": "TIMESTAMP"}
LOADED_FILES_COLUMNS = {
    "load_id": "STRING",
    "table_name": "STRING",
    "source_file": "STRING",
    "file_sha256": "STRING",
    "file_bytes": "INT64",
    "rows_loaded": "INT64",
    "rows_quarantined": "INT64",
    "status": "STRING",
    "message": "STRING",
    "loaded_at": "TIMESTAMP",
    "load_seconds": "FLOAT64",
}
QUARANTINE_COLUMNS = {
    "table_name": "STRING",
    "source_file": "STRING",
    "row_number": "INT64",
    "reason": "STRING",
    "record": "STRING",
    "load_id": "STRING",
    "quarantined_at": "TIMESTAMP",
}


class BigQueryLoadError(RuntimeError):
    """One or more tables stopped at a file whose load job failed; nothing was recorded for it."""

    def __init__(self, reports: list[BigQueryTableReport]):
        self.reports = reports
        failed = [r for r in reports if r.error]
        super().__init__(
            "BigQuery load failed: "
            + "; ".join(f"{r.table} ({r.failed_file}): {r.error}" for r in failed)
        )


@dataclass
class BigQueryTableReport:
    table: str
    validation: TableReport | None = None
    files_sent: list[str] = field(default_factory=list)  # recorded in raw._loaded_files
    rows_loaded: int = 0
    rows_quarantined: int = 0
    failed_file: str | None = None
    error: str | None = None

    @property
    def files_skipped(self) -> int:
        return self.validation.files_skipped if self.validation else 0


def bigquery_client(project: str | None = None, location: str | None = None):
    """A client for EXCHANGE_BQ_PROJECT in EXCHANGE_BQ_LOCATION. With EXCHANGE_BQ_API_ENDPOINT
    set (the emulator) it talks to that endpoint without credentials; otherwise it uses
    Google's application-default credentials."""
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    current = settings.current()
    project = project or current.bq_project
    location = location or current.bq_location
    endpoint = current.bq_api_endpoint
    if endpoint:
        return bigquery.Client(
            project=project,
            location=location,
            credentials=AnonymousCredentials(),
            client_options=ClientOptions(api_endpoint=endpoint),
        )
    return bigquery.Client(project=project, location=location)


def _literal(value: str) -> str:
    """A BigQuery string literal. Values go inline: query parameters are not supported by the
    emulator, and these are file and table names the loader found, never user SQL."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _q(name: str) -> str:
    return "`" + name.replace("`", "") + "`"


class _Dataset:
    def __init__(self, client, dataset: str):
        self.client = client
        self.dataset = dataset
        self.prefix = f"{_q(client.project)}.{_q(dataset)}"

    def ref(self, table: str) -> str:
        return f"{self.prefix}.{_q(table)}"

    def run(self, sql: str):
        return self.client.query(sql).result()

    def create_table(self, table: str, columns: dict[str, str]) -> None:
        body = ", ".join(f"{_q(c)} {t}" for c, t in columns.items())
        self.run(f"create table if not exists {self.ref(table)} ({body})")

    def columns(self, table: str) -> list[str]:
        return [f.name for f in self.client.get_table(f"{self.dataset}.{table}").schema]

    def load_parquet(self, table: str, path: Path) -> int:
        """Append a Parquet file to ``table`` with one load job; raises when the job fails."""
        from google.cloud import bigquery

        config = bigquery.LoadJobConfig(
            source_format=bigquery.SourceFormat.PARQUET,
            write_disposition=bigquery.WriteDisposition.WRITE_APPEND,
            create_disposition=bigquery.CreateDisposition.CREATE_NEVER,
        )
        with open(path, "rb") as handle:
            job = self.client.load_table_from_file(
                handle, f"{self.client.project}.{self.dataset}.{table}", job_config=config
            )
        job.result()
        return int(job.output_rows or 0)


def _raw_columns(table: SourceTable) -> dict[str, str]:
    columns = {c.name: BIGQUERY_TYPES[c.type] for c in table.columns}
    columns.update({n: PROVENANCE_BIGQUERY[t] for n, t in PROVENANCE_TYPES.items()})
    return columns


def ensure_raw_dataset(client, dataset: str = RAW_DATASET, tables=None) -> None:
    """The dataset, its bookkeeping tables and the raw tables (contract types), if missing."""
    client.create_dataset(dataset, exists_ok=True)
    bq = _Dataset(client, dataset)
    bq.create_table("_loaded_files", LOADED_FILES_COLUMNS)
    bq.create_table("_quarantine", QUARANTINE_COLUMNS)
    for name in tables or TABLES:
        bq.create_table(name, _raw_columns(TABLES[name]))


def _seed_scratch(bq: _Dataset, scratch: duckdb.DuckDBPyConnection, table: str) -> None:
    """BigQuery's record of the table's files, so the DuckDB loader skips what BigQuery has."""
    rows = bq.run(
        f"select {', '.join(LOADED_FILES_COLUMNS)} from {bq.ref('_loaded_files')} "
        f"where table_name = {_literal(table)}"
    )
    records = [
        [v.replace(tzinfo=None) if isinstance(v, dt.datetime) else v for v in row.values()]
        for row in rows
    ]
    if records:
        marks = ", ".join("?" for _ in LOADED_FILES_COLUMNS)
        scratch.executemany(f"insert into raw._loaded_files values ({marks})", records)


def _export(scratch, select: str, params: list, timestamps: list[str], out: Path) -> int:
    """Rows of ``select`` to Parquet, the (naive UTC) timestamps written as UTC instants."""
    replace = ", ".join(f'cast("{c}" as timestamptz) as "{c}"' for c in timestamps)
    relation = f"select * replace ({replace}) from ({select})" if replace else select
    scratch.execute(f"copy ({relation}) to '{out}' (format parquet)", params)
    return scratch.execute(f"select count(*) from read_parquet('{out}')").fetchone()[0]


def load_table_bigquery(
    client, landing_dir: str | os.PathLike, table: str, *, dataset: str = RAW_DATASET
) -> BigQueryTableReport:
    """Load the new landing files of one table into ``<dataset>.<table>``; see the module doc."""
    from google.api_core import exceptions as google_errors

    spec = TABLES[table]
    report = BigQueryTableReport(table)
    bq = _Dataset(client, dataset)
    ensure_raw_dataset(client, dataset, [table])
    with (
        tempfile.TemporaryDirectory(prefix=f"bq_load_{table}_") as tmp,
        open_scratch(Path(tmp) / "scratch.duckdb") as scratch,
    ):
        ensure_bookkeeping(scratch)
        _seed_scratch(bq, scratch, table)
        # the scratch raw table holds only this run's rows: no damage check against the
        # records copied from BigQuery (they describe BigQuery's raw table, not this one)
        report.validation = load_table(scratch, landing_dir, table, check_raw=False)
        # extra columns a file brought (schema drift), as STRING like the DuckDB loader's
        local = [
            r[0]
            for r in scratch.execute(
                "select column_name from duckdb_columns() where schema_name = 'raw' "
                "and table_name = ? order by column_index",
                [table],
            ).fetchall()
        ]
        remote = set(bq.columns(table))
        for column in [c for c in local if c not in remote]:
            bq.run(f"alter table {bq.ref(table)} add column {_q(column)} STRING")
        timestamps = [c.name for c in spec.columns if c.type == "timestamp"] + ["_loaded_at"]
        # this run's records: the files BigQuery does not have yet
        new = [
            r[0]
            for r in scratch.execute(
                "select source_file from raw._loaded_files where table_name = ? "
                "and load_id = ? order by loaded_at, source_file",
                [table, report.validation.load_id],
            ).fetchall()
        ]
        if new:
            try:
                _send_files(bq, scratch, spec, new, timestamps, Path(tmp), report)
            except (google_errors.GoogleAPIError, OSError) as exc:
                report.failed_file, report.error = new[0], _message(exc)
    return report


def _message(exc: Exception) -> str:
    errors = getattr(exc, "errors", None) or []
    detail = "; ".join(e.get("message", "") for e in errors if isinstance(e, dict))
    return detail or str(exc)


def _remove(bq: _Dataset, table: str, condition: str) -> None:
    """Delete the rows matching ``condition``, only when there are any (rare: after a failed
    attempt), so a normal load sends no DML. MERGE ... DELETE rather than DELETE: the same on
    BigQuery, and the emulator runs MERGE only (docs/bigquery.md, "The emulator")."""
    found = next(iter(bq.run(f"select count(*) from {bq.ref(table)} where {condition}")))[0]
    if found:
        bq.run(
            f"merge {bq.ref(table)} as t using (select 1 as one) as s on {condition} "
            "when matched then delete"
        )


def _send_files(
    bq: _Dataset,
    scratch: duckdb.DuckDBPyConnection,
    spec: SourceTable,
    files: list[str],
    timestamps: list[str],
    tmp: Path,
    report: BigQueryTableReport,
) -> None:
    """The new files of one run: three load jobs (rows, quarantine, then the records), so the
    cost does not grow with the number of files. Each load job is atomic; the records go last."""
    listed = "(" + ", ".join(_literal(f) for f in files) + ")"
    # what an interrupted attempt may have left (its records were never written)
    _remove(bq, spec.name, f"_source_file in {listed}")
    _remove(bq, "_quarantine", f"table_name = {_literal(spec.name)} and source_file in {listed}")
    scratch.execute("create or replace temp table _new_files (source_file varchar)")
    scratch.executemany("insert into _new_files values (?)", [[f] for f in files])
    out = tmp / "rows.parquet"
    rows = _export(
        scratch,
        f'select * from raw."{spec.name}" '
        "where _source_file in (select source_file from _new_files)",
        [],
        timestamps,
        out,
    )
    if rows:
        report.rows_loaded += bq.load_parquet(spec.name, out)
    out = tmp / "quarantine.parquet"
    rows = _export(
        scratch,
        "select * from raw._quarantine where table_name = ? "
        "and source_file in (select source_file from _new_files)",
        [spec.name],
        ["quarantined_at"],
        out,
    )
    if rows:
        report.rows_quarantined += bq.load_parquet("_quarantine", out)
    out = tmp / "records.parquet"
    _export(
        scratch,
        "select * from raw._loaded_files where table_name = ? and load_id = ?",
        [spec.name, report.validation.load_id],
        ["loaded_at"],
        out,
    )
    bq.load_parquet("_loaded_files", out)
    report.files_sent.extend(files)


def load_landing_bigquery(
    client, landing_dir: str | os.PathLike, tables=None, *, dataset: str = RAW_DATASET
) -> list[BigQueryTableReport]:
    """Every (or the named) table's new files; raises BigQueryLoadError after trying them all
    when any table stopped at a failed load job."""
    reports = [
        load_table_bigquery(client, landing_dir, name, dataset=dataset)
        for name in resolve_tables(tables) or list(TABLES)
    ]
    if any(r.error for r in reports):
        raise BigQueryLoadError(reports)
    return reports
