"""Every dbt model, seed and snapshot as a Dagster asset; the dbt tests that state a rule as
asset checks.

Which dbt tests are Dagster asset checks: the singular tests (financial integrity,
reconciliations), ``expression_is_true`` and ``relationships`` (business rules), and every
test of severity ``warn`` (the data-quality signals a run reports). The column-shape tests
(``not_null``, ``unique``, ``accepted_values``, ``unique_combination_of_columns``: 471 of 522)
run in the same ``dbt build`` and fail it, as in plain dbt; their results are in dbt's
``run_results.json`` and ``marts.fct_data_quality_scorecard``, not in Dagster's event log. Each
asset check costs a run three events (planned, output, evaluation), and each event is a write
to the instance's storage: docs/deployment.md, "What a run costs the instance". A singular test
that reads several models names the one it checks in its config (``meta: {dagster: {ref:
...}}``); one that reads models of two of the sets below (``assert_fill_fees_match_fee_rates``:
``fct_trades`` and staging) belongs to no set's selection, so dbt runs it in the step where all
it reads exists and Dagster records its result as an observation when it fails (the
financial-integrity ones also as an error in the step's log).

Split by the dbt tag ``daily_partitioned`` (docs/architecture.md, "Tags"):

* ``dbt_incremental_models`` (``select="tag:daily_partitioned"``): the large incremental facts,
  daily-partitioned. A run over a range of partitions gets its window as ``--vars
  '{"min_date": ..., "max_date": ...}'`` (see orchestration/partitions.py: open-ended at the
  first and the last partition); a backfill over many days is ONE dbt invocation
  (``BackfillPolicy.single_run()``). A run of one partition (the hourly run) has a partition key
  but no key range in Dagster, and passes no window: a plain incremental run, the rows loaded
  since the last build (docs/architecture.md, "Orchestration: the asset graph").
* The rest (``exclude="tag:daily_partitioned"``), unpartitioned, built with the project's default
  vars (all history), in two sets so that no set is both upstream and downstream of the
  incremental facts (Dagster would otherwise cut it into several steps, each a dbt call):
  ``dbt_upstream_models`` (``select="+tag:daily_partitioned"``,
  ``exclude="tag:daily_partitioned"``: staging, seeds, the rates the facts read) and
  ``dbt_models`` (``exclude="+tag:daily_partitioned"``: the marts and everything else).

Without any node tagged ``daily_partitioned`` there is one set, ``dbt_models``: everything.

A run over some of the daily partitions (the hourly run, a backfill: not the daily full build)
tests only its days: each of its dbt steps, the unpartitioned ones too, gets the var
``test_days`` (orchestration/partitions.py, macros/test_window.sql), so the data tests of the
large event models and the financial-integrity checks read the run's window, not all history.
The daily full build, over every partition, tests all history.

A run without a partition (``dagster job execute -j daily_full_build`` with no partition tags,
or a plain materialization) builds the incremental facts over all history, like ``dbt build``.

Dagster's dbt runs leave dbt's unit tests to CI (``make test``). Data tests run with
``--indirect-selection buildable``: only in a step where every model a test reads is built
or upstream of what is built (``eager``, dbt's default, would run a relationships test between
a staging model and a mart in the staging step, before the mart exists). When a run leaves out
some checks of the assets it builds, dagster-dbt names the tests itself and turns indirect
selection off, and the flag is not passed.

The dbt subprocess gets what it needs as arguments, never through this process's environment:
the warehouse of the resource, when configured (``WarehouseResource.path``), as the dbt var
``exchange_warehouse`` that profiles.yml reads before ``EXCHANGE_WAREHOUSE``.

A broken financial invariant (the dbt tests tagged ``financial_integrity``)
does not fail the dbt step: dagster-dbt sets ``DAGSTER_DBT_CLI=true`` in dbt's environment, and
then the on-run-end hook only logs (macros/financial_integrity.sql), so the steps
after dbt still run and send the critical data-quality alerts of ``fct_compliance_alerts`` to
the webhook and into the daily report. The failure shows as failed asset checks and an error in
the step's log. Any other dbt error fails the step as before.

Asset keys are dagster-dbt's defaults (``[<schema>, <model>]``; sources ``[<source>, <table>]``),
so the loader assets, keyed like the sources, connect to staging: lineage runs unbroken from
the landing files to the marts. Each dbt command holds the warehouse lock (one writer at a time).
"""

import logging
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, dbt_assets

from orchestration.dbt_args import DATA_BUILD
from orchestration.dbt_project import dbt_project, load_manifest
from orchestration.partitions import (
    daily_partitions,
    dbt_test_vars_for_partition_range,
    dbt_vars_arg,
    dbt_vars_for_partition_range,
)
from orchestration.resources import ExchangeDbtCliResource, WarehouseResource

PARTITIONED_TAG = "daily_partitioned"
PARTITIONED_SELECT = f"tag:{PARTITIONED_TAG}"
UPSTREAM_OF_PARTITIONED_SELECT = f"+{PARTITIONED_SELECT}"
INDIRECT_SELECTION = "buildable"
FINANCIAL_INTEGRITY_TAG = "financial_integrity"
FAILED_TEST_STATUSES = ("warn", "fail", "error")
ASSET_NODE_TYPES = ("model", "seed", "snapshot")
# Generic tests of a column's shape: dbt runs them, Dagster does not list them as checks.
COLUMN_SHAPE_TESTS = frozenset(
    {"not_null", "unique", "accepted_values", "unique_combination_of_columns"}
)
# Dagster's run tags of a partitioned run: one partition, or a range (one run for many).
PARTITION_TAG = "dagster/partition"
PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"


def is_asset_check(test: Mapping[str, Any]) -> bool:
    """Whether a dbt test (its manifest node) is a Dagster asset check (this module's docstring)."""
    kind = (test.get("test_metadata") or {}).get("name")
    severity = str((test.get("config") or {}).get("severity") or "error").lower()
    return kind not in COLUMN_SHAPE_TESTS or severity == "warn"


class ExchangeDbtTranslator(DagsterDbtTranslator):
    """dagster-dbt's defaults (keys, descriptions), grouped by layer (the schema); asset checks
    for the tests of :func:`is_asset_check`."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        schema = (dbt_resource_props.get("config") or {}).get("schema")
        if schema:
            return str(schema)
        return super().get_group_name(dbt_resource_props)

    def get_asset_check_spec(self, asset_spec, manifest, unique_id, project):
        if not is_asset_check(manifest["nodes"][unique_id]):
            return None
        return super().get_asset_check_spec(asset_spec, manifest, unique_id, project)


class _ColumnShapeTestNotice(logging.Filter):
    """dagster-dbt warns once per dbt test that is not an asset check ("Logging an
    `AssetObservation` instead of an `AssetCheckResult`"): for the column-shape tests that is
    by design, and some 470 warnings a run would bury the real ones."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "instead of an `AssetCheckResult`" not in record.getMessage()


dg.get_dagster_logger().addFilter(_ColumnShapeTestNotice())


translator = ExchangeDbtTranslator()


def has_partitioned_nodes(manifest: Mapping[str, Any]) -> bool:
    return any(
        PARTITIONED_TAG in (node.get("tags") or [])
        for node in manifest["nodes"].values()
        if node["resource_type"] in ASSET_NODE_TYPES
    )


def run_partition_range(tags: Mapping[str, str]) -> tuple[str, str] | None:
    """The first and last partition key of a run, from its tags; None for an unpartitioned run."""
    start, end = tags.get(PARTITION_RANGE_START_TAG), tags.get(PARTITION_RANGE_END_TAG)
    if start and end:
        return start, end
    if tags.get(PARTITION_TAG):
        return tags[PARTITION_TAG], tags[PARTITION_TAG]
    return None


def test_vars_of_run(tags: Mapping[str, str]) -> dict[str, int]:
    """``test_days`` for the dbt steps of a run over some of the partitions, else nothing."""
    keys = run_partition_range(tags)
    return dbt_test_vars_for_partition_range(*keys) if keys else {}


def dbt_build_args(dbt_vars: Mapping[str, Any] | None = None) -> list[str]:
    """The dbt command of a run (dagster-dbt appends the ``--select`` of the run's subset).

    Unit tests are left out (orchestration/dbt_args.py).
    """
    args = list(DATA_BUILD)
    if dbt_vars:
        args += dbt_vars_arg(dict(dbt_vars))
    return args


def financial_integrity_failures(
    run_results: Mapping[str, Any], manifest: Mapping[str, Any]
) -> list[str]:
    """The financial-integrity tests of a dbt invocation that warned, failed or errored, each as
    ``name (status, N failing rows)``."""
    failed = []
    for result in run_results.get("results") or []:
        node = manifest["nodes"].get(result.get("unique_id")) or {}
        if (
            node.get("resource_type") == "test"
            and FINANCIAL_INTEGRITY_TAG in (node.get("tags") or [])
            and result.get("status") in FAILED_TEST_STATUSES
        ):
            rows = result.get("failures")
            failed.append(f"{node['name']} ({result['status']}, {rows} failing rows)")
    return failed


def _every_check_of_the_selected_assets(context: dg.AssetExecutionContext) -> bool:
    """True unless the run leaves out a check of an asset it builds (then dagster-dbt selects
    the tests by name with indirect selection ``empty``, and no flag may override that)."""
    selected = context.selected_asset_keys
    every_check = {
        spec.key for spec in context.assets_def.check_specs if spec.asset_key in selected
    }
    return every_check <= set(context.selected_asset_check_keys)


def _passed(observation: dg.AssetObservation) -> bool:
    status = observation.metadata.get("status")
    return getattr(status, "value", status) == "pass"


def _run_dbt(
    context: dg.AssetExecutionContext,
    dbt: ExchangeDbtCliResource,
    warehouse: WarehouseResource,
    dbt_vars: Mapping[str, Any] | None,
) -> Iterator[Any]:
    dbt_vars = {**test_vars_of_run(context.run.tags), **(dbt_vars or {}), **warehouse.dbt_vars()}
    args = dbt_build_args(dbt_vars)
    if _every_check_of_the_selected_assets(context):
        args += ["--indirect-selection", INDIRECT_SELECTION]
    context.log.info(f"dbt {' '.join(args)} (waiting for the warehouse lock if held)")
    with warehouse.lock(), dbt.target_keeping_partial_parse(context, dbt_vars) as target_path:
        invocation = dbt.cli(args, context=context, target_path=target_path)
        for event in invocation.stream():
            # A column-shape test that passed: in run_results.json, not worth an event.
            if isinstance(event, dg.AssetObservation) and _passed(event):
                continue
            yield event
    failed = financial_integrity_failures(invocation.get_artifact("run_results.json"), MANIFEST)
    if failed:
        context.log.error(
            "Financial integrity broken: "
            + "; ".join(failed)
            + ". The compliance marts were built; the critical data-quality alerts go to the "
            "webhook and the daily report."
        )


MANIFEST = load_manifest()
PARTITIONED = has_partitioned_nodes(MANIFEST)


@dbt_assets(
    manifest=MANIFEST,
    project=dbt_project,
    exclude=UPSTREAM_OF_PARTITIONED_SELECT if PARTITIONED else "",
    dagster_dbt_translator=translator,
    name="dbt_models",
)
def dbt_models(
    context: dg.AssetExecutionContext, dbt: ExchangeDbtCliResource, warehouse: WarehouseResource
):
    yield from _run_dbt(context, dbt, warehouse, None)


def _upstream_assets() -> dg.AssetsDefinition | None:
    if not PARTITIONED:
        return None

    @dbt_assets(
        manifest=MANIFEST,
        project=dbt_project,
        select=UPSTREAM_OF_PARTITIONED_SELECT,
        exclude=PARTITIONED_SELECT,
        dagster_dbt_translator=translator,
        name="dbt_upstream_models",
    )
    def dbt_upstream_models(
        context: dg.AssetExecutionContext, dbt: ExchangeDbtCliResource, warehouse: WarehouseResource
    ):
        yield from _run_dbt(context, dbt, warehouse, None)

    return dbt_upstream_models


def _incremental_assets() -> dg.AssetsDefinition | None:
    if not PARTITIONED:
        return None

    @dbt_assets(
        manifest=MANIFEST,
        project=dbt_project,
        select=PARTITIONED_SELECT,
        dagster_dbt_translator=translator,
        name="dbt_incremental_models",
        partitions_def=daily_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def dbt_incremental_models(
        context: dg.AssetExecutionContext, dbt: ExchangeDbtCliResource, warehouse: WarehouseResource
    ):
        dbt_vars = None  # no partition: all history
        if context.has_partition_key_range:
            keys = context.partition_key_range
            dbt_vars = {
                **dbt_vars_for_partition_range(keys.start, keys.end),
                **dbt_test_vars_for_partition_range(keys.start, keys.end),
            }
        yield from _run_dbt(context, dbt, warehouse, dbt_vars)

    return dbt_incremental_models


dbt_upstream_models = _upstream_assets()
dbt_incremental_models = _incremental_assets()

DBT_ASSETS: list[dg.AssetsDefinition] = [
    a for a in (dbt_upstream_models, dbt_incremental_models, dbt_models) if a is not None
]


@cache
def node_asset_key(name: str, resource_type: str = "model") -> dg.AssetKey | None:
    """The asset key of a dbt model (seed, snapshot) by name; None when the project lacks it."""
    for unique_id, node in MANIFEST["nodes"].items():
        if node["resource_type"] == resource_type and node["name"] == name:
            return translator.get_asset_spec(MANIFEST, unique_id, dbt_project).key
    return None


def node_relation(name: str) -> str | None:
    """``<schema>.<table>`` of a dbt model, as built for the manifest's target (no database:
    the DuckDB catalog is named after whatever file is open)."""
    for node in MANIFEST["nodes"].values():
        if node["resource_type"] == "model" and node["name"] == name:
            return f"{node['schema']}.{node.get('alias') or node['name']}"
    return None


def source_asset_keys() -> dict[str, dg.AssetKey]:
    """dbt source table name -> its asset key (``["exchange", "trades"]``, ...)."""
    keys: dict[str, dg.AssetKey] = {}
    for unique_id, source in MANIFEST["sources"].items():
        keys[source["name"]] = translator.get_asset_spec(MANIFEST, unique_id, dbt_project).key
    return keys
