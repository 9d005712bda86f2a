"""Serve the BigQuery emulator (crucible-emulator 0.1.0a2) for the tests and docs/bigquery.md.

Runs under the emulator's own virtual environment (`.venv-bq-emulator/`, its own duckdb), never
the project's. It is `crucible serve --dialect bigquery` plus three additions on the emulator's side
of the line: BigQuery's NET functions (add_net_functions, below), descriptions in tables.patch
dropped, and Parquet load jobs. Crucible 0.1.0a2 loads CSV only; the project's BigQuery loader
(ingestion/bigquery) sends Parquet load jobs, as it would to real BigQuery, and this patch reads
them with the emulator's DuckDB into the destination table's columns, matched by name (BigQuery's
rule for Parquet), in one statement: a file that cannot be read fails the job and leaves the
table untouched. Nothing the project sends is changed. See docs/bigquery.md, "The emulator".

    .venv-bq-emulator/bin/python scripts/bigquery_emulator_serve.py --port 9050 [--database FILE]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

import duckdb
import uvicorn
from crucible.dialects.bigquery import metadata, types
from crucible.dialects.bigquery.dialect import DIALECT
from crucible.engine import CrucibleError, CrucibleUnsupportedError, Engine, ErrorKind
from crucible.engine.catalog import qualified, quote
from crucible.server.app import create_app
from crucible.server.bigquery import encoding, jobs, load
from crucible.server.bigquery.app import BigQueryServer
from starlette.requests import Request
from starlette.responses import Response

_csv_load = jobs.Runner._load


def _parquet_load(self: jobs.Runner, job: jobs.Job, config: dict[str, Any], data: bytes) -> None:
    if str(config.get("sourceFormat", "CSV")).upper() != "PARQUET":
        return _csv_load(self, job, config, data)
    disposition = config.get("writeDisposition", "WRITE_APPEND")
    if disposition not in ("WRITE_TRUNCATE", "WRITE_APPEND"):
        raise CrucibleUnsupportedError(f"writeDisposition {disposition}")
    if config.get("schemaUpdateOptions"):
        raise CrucibleUnsupportedError("schemaUpdateOptions on a Parquet load")
    destination = jobs.obj(config.get("destinationTable"))
    project = destination.get("projectId") or job.project
    dataset, table = destination.get("datasetId"), destination.get("tableId")
    if not dataset or not table:
        raise CrucibleError(ErrorKind.INVALID_QUERY, "Load job needs a destinationTable")
    session = DIALECT.new_session(project, dataset)
    full = qualified(project, dataset, table)
    staging = qualified(f"crucible_load_{uuid.uuid4().hex}")
    with tempfile.NamedTemporaryFile(suffix=".parquet") as handle:
        handle.write(data)
        handle.flush()
        with self.engine.cursor(session) as cursor:
            ctx = jobs.ExecContext(self.engine, DIALECT, session, cursor, None)
            info = ctx.catalog.table(project, dataset, table)
            fields = jobs.fields_of(jobs.obj(config.get("schema")))
            if fields:
                columns = [(f["name"], encoding.warehouse_type_from_field(f)) for f in fields]
            elif info is not None:
                columns = [(c.name, c.type) for c in info.columns]
            else:
                raise CrucibleUnsupportedError(
                    "a Parquet load into a new table without a schema (create the table first)"
                )
            # The engine's connection may not read files (external access is off): a connection
            # of its own reads the Parquet, cast to the storage types, into an Arrow table, which
            # the engine's cursor reads in one INSERT (registering an Arrow table is not an
            # external access). No Python value per row.
            reader = duckdb.connect()
            try:
                reader.execute("SET TimeZone = 'UTC'")
                in_file = {
                    r[0]
                    for r in reader.execute(
                        "SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet(?))",
                        [handle.name],
                    ).fetchall()
                }
                select = ", ".join(
                    f"CAST({qualified(name) if name in in_file else 'NULL'} "
                    f"AS {types.storage_type(kind).sql('duckdb')}) AS {qualified(name)}"
                    for name, kind in columns
                )
                arrow_rows = reader.execute(
                    f"SELECT {select} FROM read_parquet(?)", [handle.name]
                ).to_arrow_table()
            except duckdb.Error as exc:  # BigQuery's "invalid": the job fails, nothing loads
                raise load.LoadError(
                    [f"Error while reading data, error message: {exc}".splitlines()[0]]
                ) from exc
            finally:
                reader.close()
            rows = arrow_rows.num_rows
            storage = ", ".join(
                f"{qualified(name)} {types.storage_type(kind).sql('duckdb')}"
                for name, kind in columns
            )
            ctx.run_sql(f"CREATE TEMP TABLE {staging} ({storage})", returns_rows=False)
            view = f"crucible_parquet_{uuid.uuid4().hex}"
            try:
                cursor.register(view, arrow_rows)
                try:
                    cursor.execute(f"INSERT INTO {staging} SELECT * FROM {qualified(view)}")
                finally:
                    cursor.unregister(view)
                    del arrow_rows
                if info is None or disposition == "WRITE_TRUNCATE":
                    metadata.check_new_table(ctx, metadata.Name(project, dataset, table))
                    ctx.run_sql(
                        f"CREATE OR REPLACE TABLE {full} AS SELECT * FROM {staging}",
                        returns_rows=False,
                    )
                    ctx.catalog.set_properties(project, dataset, table, {})
                else:
                    ctx.run_sql(f"INSERT INTO {full} SELECT * FROM {staging}", returns_rows=False)
            finally:
                cursor.execute(f"DROP TABLE IF EXISTS {staging}")
    job.load_statistics = {
        "inputFiles": "1",
        "inputFileBytes": str(len(data)),
        "outputRows": str(rows),
        "badRecords": "0",
    }


jobs.Runner._load = _parquet_load

_crucible_tables_patch = BigQueryServer.tables_patch


def _strip_descriptions(fields: list[Any]) -> None:
    for f in fields:
        if isinstance(f, dict):
            f.pop("description", None)
            _strip_descriptions(f.get("fields") or [])


async def _tables_patch(self: BigQueryServer, request: Request) -> Response:
    """dbt's persist_docs sends table and column descriptions with tables.patch; crucible
    0.1.0a2 refuses them. They are documentation only (no query reads them), so they are
    dropped here and the rest of the patch (added columns) runs as crucible has it."""
    body = await request.json()
    if isinstance(body, dict):
        body.pop("description", None)
        schema = body.get("schema")
        if isinstance(schema, dict):
            _strip_descriptions(schema.get("fields") or [])
        request._json = body  # starlette returns the cached body to the handler
    return await _crucible_tables_patch(self, request)


BigQueryServer.tables_patch = _tables_patch


# BigQuery's NET functions, which crucible 0.1.0a2 lacks ("Not supported by Crucible: function
# IP_TO_STRING"), as DuckDB macros in the emulator's default catalog. An address is a list of
# its octets (IPv4) or of its eight 16-bit groups (IPv6) where BigQuery has BYTES; only these
# three functions read it. Semantics as
# BigQuery documents them: SAFE_IP_FROM_STRING is NULL for an invalid address, IP_TRUNC keeps the
# first n bits, IP_TO_STRING writes IPv6 in RFC 5952's compressed form (the first longest run of
# zero groups as "::"). Used by macros/pii.sql (bigquery__truncate_ip).
NET_FUNCTIONS = (Path(__file__).parent / "bigquery_emulator_net_functions.sql").read_text()


def add_net_functions(engine: Engine) -> None:
    """In the default catalog and in every catalog (project) attached later: a view's body is
    bound in its own catalog, where `NET.X(...)` needs a schema `net` to be read as a function
    (otherwise DuckDB reads NET as a column). So each project shows one extra dataset, `net`,
    on the emulator."""

    def create(catalog: str) -> None:
        # Both spellings: `net.x` as BigQuery writes it, and the bare `x`.
        for schema in (f"{catalog}.net", f"{catalog}.main"):
            engine._con.execute(f"create schema if not exists {schema}")
            for statement in NET_FUNCTIONS.replace("{schema}", schema).split(";"):
                if statement.strip():
                    engine._con.execute(statement)

    attach = engine._attach

    def attach_with_net_functions(name: str, file: str | None) -> None:
        attach(name, file)
        create(quote(name))

    engine._attach = attach_with_net_functions
    create("memory")
    for name in engine.attached_catalogs():
        create(quote(name))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("CRUCIBLE_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=9050)
    parser.add_argument("--database", help="DuckDB file for persistent state (default: memory)")
    args = parser.parse_args()
    engine = Engine(args.database)
    add_net_functions(engine)
    app = create_app("bigquery", engine)
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
