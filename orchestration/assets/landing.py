"""One asset per landed source table: new landing files -> ``raw.<table>``.

Each asset's key is the dbt source's key (``["exchange", "trades"]``,
``["market_feeds", "external_prices"]``), so dbt's staging models hang off it directly.
The assets share one op (a subsettable multi-asset): a run loads the tables it selects through
ONE warehouse connection, taken under the loaders' lock, with the loader's per-table entry
point ``ingestion.loaders.load_table``. Loads are incremental and idempotent (files already
loaded are skipped), so materializing a table again only picks up new files.

Before the load, Great Expectations judges the new files (docs/great_expectations.md, "Its own
job"): a file that mostly breaks a rule of the landing contract is held under
``<landing>/_held/`` with its reasons, a warning names it, and the rest load; the Data Docs of
every delivery are published for the data team (``EXCHANGE_GX_DOCS_DIR``).

A materialization says what the load did (files, rows loaded, rows quarantined) and carries
``dagster/last_updated_timestamp``: when new rows last reached the table. The freshness checks
(orchestration/checks.py) read that, so a load that found nothing new does not count as fresh.
"""

import datetime as dt

import dagster as dg

from ingestion.contract import TABLES, SourceTable
from orchestration.assets.dbt import source_asset_keys
from orchestration.resources import LandingResource, WarehouseResource

LANDING_GROUP = "landing"


def _default_source(table: str) -> str:
    return "market_feeds" if table == "external_prices" else "exchange"


def _table_keys() -> dict[str, dg.AssetKey]:
    from_dbt = source_asset_keys()
    return {name: from_dbt.get(name, dg.AssetKey([_default_source(name), name])) for name in TABLES}


TABLE_KEYS: dict[str, dg.AssetKey] = _table_keys()
TABLE_BY_KEY: dict[dg.AssetKey, str] = {key: name for name, key in TABLE_KEYS.items()}
LANDING_KEYS: list[dg.AssetKey] = list(TABLE_KEYS.values())


def _column_schema(table: SourceTable) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=c.name,
                type=c.type,
                constraints=dg.TableColumnConstraints(nullable=not c.required),
            )
            for c in table.columns
        ]
    )


def _spec(name: str) -> dg.AssetSpec:
    table = TABLES[name]
    return dg.AssetSpec(
        key=TABLE_KEYS[name],
        description=f"raw.{name}, loaded from <landing>/{name}/. {table.description}",
        group_name=LANDING_GROUP,
        kinds={"python", "duckdb"},
        metadata={
            "dagster/table_name": f"raw.{name}",
            "dagster/column_schema": _column_schema(table),
            "primary_key": ", ".join(table.primary_key),
        },
    )


def _table_state(con, table: str) -> tuple[int, dt.datetime | None]:
    rows = con.execute(f'SELECT count(*) FROM raw."{table}"').fetchone()[0]
    last = con.execute(
        "SELECT max(loaded_at) FROM raw._loaded_files "
        "WHERE table_name = ? AND status = 'loaded' AND rows_loaded > 0",
        [table],
    ).fetchone()[0]
    return int(rows), last


@dg.multi_asset(
    specs=[_spec(name) for name in TABLES],
    can_subset=True,
    name="landing_tables",
)
def landing_tables(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, landing: LandingResource
):
    from ingestion.landing_expectations import loaded_files, validate_landing
    from ingestion.loaders import load_table, new_load_id

    landing_dir = landing.resolved_path()
    tables = [name for name, key in TABLE_KEYS.items() if key in context.selected_asset_keys]
    load_id = new_load_id()
    context.log.info(f"load {load_id}: {landing_dir} -> {warehouse.resolved_path()}: {tables}")
    with warehouse.connect() as con:
        held: dict[str, list[str]] = {}
        if landing_dir.is_dir():
            docs = landing.resolved_gx_docs_path()
            gated = validate_landing(landing_dir, docs, tables=tables, loaded=loaded_files(con))
            for batch in gated:
                if not batch.passed:
                    held.setdefault(batch.table, []).append(str(batch.held_to))
                    context.log.warning(
                        f"{batch.table}: {batch.path.name} held by Great Expectations "
                        f"(moved to {batch.held_to}, reasons beside it): "
                        + "; ".join(batch.failures)
                    )
            context.log.info(f"Great Expectations Data Docs: {docs / 'index.html'}")
        else:
            context.log.warning(f"landing directory {landing_dir} does not exist: nothing to load")
        for table in tables:
            report = load_table(con, landing_dir, table, load_id=load_id)
            rows, last_loaded = _table_state(con, table)
            if report.rows_quarantined or report.files_rejected:
                context.log.warning(
                    f"{table}: {report.rows_quarantined} rows quarantined (raw._quarantine), "
                    f"{report.files_rejected} files rejected (moved to <landing>/_rejected/)"
                )
            metadata: dict = {
                "dagster/row_count": rows,
                "load_id": load_id,
                "files_loaded": report.files_loaded,
                "files_skipped": report.files_skipped,
                "files_rejected": report.files_rejected,
                "rows_loaded": report.rows_loaded,
                "rows_quarantined": report.rows_quarantined,
                "files_held": len(held.get(table, [])),
            }
            if last_loaded is not None:
                metadata["dagster/last_updated_timestamp"] = dg.MetadataValue.timestamp(
                    last_loaded.replace(tzinfo=dt.UTC)
                )
            yield dg.MaterializeResult(asset_key=TABLE_KEYS[table], metadata=metadata)
        con.execute("CHECKPOINT")
