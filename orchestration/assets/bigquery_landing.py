"""The BigQuery loader as Dagster assets: new landing files -> the BigQuery ``raw`` dataset.

The keys are the dbt sources' keys, the same as orchestration/assets/landing.py's DuckDB assets
(``["exchange", "trades"]``...), so a deployment that builds on BigQuery hangs dbt's staging
models off these instead: ``bigquery_landing_definitions()`` is that deployment's landing layer
(the default ``orchestration.definitions`` stays on DuckDB; one Definitions cannot hold two
assets with one key). Loads are keyed and idempotent: ingestion/bigquery/loader.py.
"""

import dagster as dg

from ingestion.contract import TABLES
from orchestration.assets.landing import TABLE_KEYS, _column_schema
from orchestration.resources import LandingResource


class BigQueryResource(dg.ConfigurableResource):
    """A BigQuery project and dataset; unset values come from EXCHANGE_BQ_PROJECT,
    EXCHANGE_BQ_LOCATION and EXCHANGE_BQ_API_ENDPOINT (set only for the emulator)."""

    project: str | None = None
    location: str | None = None
    dataset: str = "raw"

    def client(self):
        from ingestion.bigquery import bigquery_client

        return bigquery_client(self.project, self.location)


def _spec(name: str) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=TABLE_KEYS[name],
        description=f"raw.{name} in BigQuery, loaded from <landing>/{name}/ with Parquet load "
        f"jobs. {TABLES[name].description}",
        group_name="landing",
        kinds={"python", "bigquery"},
        metadata={
            "dagster/table_name": f"raw.{name}",
            "dagster/column_schema": _column_schema(TABLES[name]),
            "primary_key": ", ".join(TABLES[name].primary_key),
        },
    )


@dg.multi_asset(
    specs=[_spec(name) for name in TABLES], can_subset=True, name="bigquery_landing_tables"
)
def bigquery_landing_tables(
    context: dg.AssetExecutionContext, bigquery: BigQueryResource, landing: LandingResource
):
    from ingestion.bigquery import BigQueryLoadError, load_table_bigquery

    client = bigquery.client()
    tables = [name for name, key in TABLE_KEYS.items() if key in context.selected_asset_keys]
    reports = []
    for table in tables:
        report = load_table_bigquery(
            client, landing.resolved_path(), table, dataset=bigquery.dataset
        )
        reports.append(report)
        if report.error:
            context.log.error(f"{table}: load job failed at {report.failed_file}: {report.error}")
            continue
        yield dg.MaterializeResult(
            asset_key=TABLE_KEYS[table],
            metadata={
                "files_loaded": len(report.files_sent),
                "files_skipped": report.files_skipped,
                "rows_loaded": report.rows_loaded,
                "rows_quarantined": report.rows_quarantined,
            },
        )
    if any(r.error for r in reports):
        # the failed tables are not materialized; the run fails, naming them
        raise BigQueryLoadError(reports)


def bigquery_landing_definitions(**resources) -> dg.Definitions:
    """The BigQuery landing layer with its resources (defaults from the environment)."""
    return dg.Definitions(
        assets=[bigquery_landing_tables],
        resources={
            "bigquery": resources.get("bigquery", BigQueryResource()),
            "landing": resources.get("landing", LandingResource()),
        },
    )
