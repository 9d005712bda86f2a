"""Quality gates on the raw tables: Great Expectations suites, and freshness.

After each load, two checks per raw table, both computed by ONE op (a multi-asset check) that
reads each table from DuckDB into pandas and validates it with Great Expectations 1.x (the GX
SQL path through duckdb-engine is broken):

* ``contract_expectations`` (blocking, ERROR): what the landing contract (ingestion/contract.py)
  promises and the loaders enforce: at least one row, required columns not null, enum columns
  within their accepted values, ``positive`` columns > 0, ``_loaded_at`` present. A failure
  means the loader let bad data through: the run stops before dbt.
* ``value_ranges`` (WARN, not blocking): plausible ranges the contract does not promise (fee
  rates, risk scores, non-negative balances and volumes). A failure flags the table but lets
  the build go on: dbt's tests judge the business rules.

Tables larger than ``EXCHANGE_GX_SAMPLE_ROWS`` (default 100,000) are validated on a repeatable
reservoir sample of that many rows, reading only the columns the expectations use; the row
count comes from the whole table. GX is imported when a check runs, never when the code
location loads.

Freshness: Dagster's last-update freshness checks on the loader assets (no new rows for
``EXCHANGE_FRESHNESS_HOURS``, default 26, fails with WARN), evaluated by a sensor.
"""

import datetime as dt
import warnings
from dataclasses import dataclass
from typing import Any

import dagster as dg

from ingestion.contract import TABLES, SourceTable
from orchestration.assets.landing import LANDING_KEYS, TABLE_BY_KEY, TABLE_KEYS
from orchestration.resources import WarehouseResource
from warehouse import settings
from warehouse.raw_schema import ident, raw_table_name

CONTRACT_CHECK = "contract_expectations"
RANGE_CHECK = "value_ranges"


@dataclass(frozen=True)
class Range:
    column: str
    min_value: float | None = None
    max_value: float | None = None


# Plausibility ranges beyond the contract (docs/reliability.md#financial-integrity: no negative
# balances, among others).
VALUE_RANGES: dict[str, tuple[Range, ...]] = {
    "user_tiers": (
        Range("trading_fee_rate", 0, 0.1),
        Range("withdrawal_limit_daily", 0),
        Range("minimum_balance_requirement", 0),
    ),
    "user_kyc": (Range("kyc_level", 0, 2), Range("risk_score", 0, 1)),
    "trading_pairs": (
        Range("maker_fee_rate", 0, 0.1),
        Range("taker_fee_rate", 0, 0.1),
        Range("min_order_size", 0),
    ),
    "orders": (Range("filled_quantity", 0),),
    "trades": (Range("fee", 0),),
    "wallets": (Range("balance", 0), Range("locked_balance", 0)),
    "transactions": (Range("balance_after", 0),),
    "fee_collections": (Range("fee_amount", 0),),
    "market_data_1h": (Range("volume", 0), Range("trade_count", 0)),
    "order_book_snapshots": (
        Range("spread_bps", 0),
        Range("bid_depth_1_percent", 0),
        Range("ask_depth_1_percent", 0),
    ),
    "security_events": (Range("risk_score", 0, 1),),
    "system_metrics": (Range("value", 0),),
}


def sample_rows() -> int:
    return settings.current().gx_sample_rows


def contract_expectations(table: SourceTable) -> list[Any]:
    """The blocking suite of a raw table, from its contract."""
    import great_expectations as gx

    expectations: list[Any] = [
        gx.expectations.ExpectTableRowCountToBeBetween(min_value=1),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="_loaded_at"),
    ]
    for column in table.columns:
        if column.required:
            expectations.append(gx.expectations.ExpectColumnValuesToNotBeNull(column=column.name))
        if column.enum:
            expectations.append(
                gx.expectations.ExpectColumnValuesToBeInSet(
                    column=column.name, value_set=list(column.enum)
                )
            )
        if column.positive:
            expectations.append(
                gx.expectations.ExpectColumnValuesToBeBetween(
                    column=column.name, min_value=0, strict_min=True
                )
            )
    return expectations


def range_expectations(table: SourceTable) -> list[Any]:
    """The warning suite of a raw table: plausible value ranges."""
    import great_expectations as gx

    return [
        gx.expectations.ExpectColumnValuesToBeBetween(
            column=r.column, min_value=r.min_value, max_value=r.max_value
        )
        for r in VALUE_RANGES.get(table.name, ())
        if r.column in table.column_names
    ]


def _columns_used(expectations: list[Any]) -> list[str]:
    columns: list[str] = []
    for expectation in expectations:
        column = getattr(expectation, "column", None)
        if column and column not in columns:
            columns.append(column)
    return columns


def read_sample(con, table: str, columns: list[str], limit: int):
    """(row count of ``raw.<table>``, DataFrame of at most ``limit`` rows of ``columns``)."""
    relation = raw_table_name(table)
    rows = con.execute(f"SELECT count(*) FROM {relation}").fetchone()[0]
    existing = {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'raw' AND table_name = ?",
            [table],
        ).fetchall()
    }
    # A column missing from the table reads as NULL, so its not-null expectation fails.
    select = ", ".join(
        ident(c) if c in existing else f"CAST(NULL AS VARCHAR) AS {ident(c)}" for c in columns
    )
    sample = f" USING SAMPLE reservoir({int(limit)} ROWS) REPEATABLE (42)" if rows > limit else ""
    frame = con.execute(f"SELECT {select} FROM {relation}{sample}").df()
    return int(rows), frame


def _gx_context():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.analytics_enabled = False  # set here, not through os.environ
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def validate_frame(context, name: str, frame, expectations: list[Any]) -> tuple[bool, dict]:
    """Run ``expectations`` on ``frame``; (passed, metadata describing each failure)."""
    import great_expectations as gx

    if not expectations:
        return True, {"expectations": 0}
    source = context.data_sources.add_or_update_pandas(f"raw_{name}")
    asset = source.add_dataframe_asset(name=name)
    batch_definition = asset.add_batch_definition_whole_dataframe("whole")
    suite = gx.ExpectationSuite(name=f"raw_{name}", expectations=expectations)
    result = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(suite)
    failures = []
    for res in result.results:
        if res.success:
            continue
        config = res.expectation_config
        column = config.kwargs.get("column")
        detail = res.result or {}
        if "unexpected_count" in detail and detail["unexpected_count"] is not None:
            sample = [str(v) for v in (detail.get("partial_unexpected_list") or [])[:5]]
            what = f"{detail['unexpected_count']} unexpected values, e.g. {sample}"
        elif res.exception_info and res.exception_info.get("raised_exception"):
            what = str(res.exception_info.get("exception_message"))[:200]
        else:
            what = f"observed {detail.get('observed_value')}"
        failures.append(f"{config.type}({column or ''}): {what}")
    metadata = {
        "expectations": len(result.results),
        "failed_expectations": len(failures),
    }
    if failures:
        metadata["failures"] = dg.MetadataValue.md("\n".join(f"- {f}" for f in failures))
    return bool(result.success), metadata


def expectation_check_keys(asset_keys: list[dg.AssetKey]) -> list[dg.AssetCheckKey]:
    """The Great Expectations checks of the given loader assets."""
    return [spec.key for spec in raw_table_expectations.check_specs if spec.asset_key in asset_keys]


def _check_specs() -> list[dg.AssetCheckSpec]:
    specs = []
    for name, key in TABLE_KEYS.items():
        specs.append(
            dg.AssetCheckSpec(
                CONTRACT_CHECK,
                asset=key,
                blocking=True,
                description=f"Great Expectations: raw.{name} honours the landing contract "
                "(rows > 0, required not null, accepted values, positive values). Blocking.",
            )
        )
        if VALUE_RANGES.get(name):
            specs.append(
                dg.AssetCheckSpec(
                    RANGE_CHECK,
                    asset=key,
                    description=f"Great Expectations: raw.{name} values within plausible ranges "
                    "(warning only).",
                )
            )
    return specs


@dg.multi_asset_check(specs=_check_specs(), can_subset=True, name="raw_table_expectations")
def raw_table_expectations(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
    selected = context.selected_asset_check_keys
    tables = sorted(
        {TABLE_BY_KEY[k.asset_key] for k in selected}, key=lambda t: list(TABLES).index(t)
    )
    gx_context = _gx_context()
    limit = sample_rows()
    for table in tables:
        spec = TABLES[table]
        key = TABLE_KEYS[table]
        suites = {
            CONTRACT_CHECK: contract_expectations(spec),
            RANGE_CHECK: range_expectations(spec),
        }
        wanted = {
            name: expectations
            for name, expectations in suites.items()
            if dg.AssetCheckKey(key, name) in selected
        }
        columns = _columns_used([e for exps in wanted.values() for e in exps])
        try:
            with warehouse.connect(read_only=True) as con:
                rows, frame = read_sample(con, table, columns, limit)
        except Exception as e:  # noqa: BLE001 - a missing table or warehouse fails the check
            for name in wanted:
                yield dg.AssetCheckResult(
                    asset_key=key,
                    check_name=name,
                    passed=False,
                    severity=_severity(name),
                    metadata={"error": f"cannot read raw.{table}: {str(e).splitlines()[0]}"},
                )
            continue
        for name, expectations in wanted.items():
            passed, metadata = validate_frame(gx_context, f"{table}_{name}", frame, expectations)
            yield dg.AssetCheckResult(
                asset_key=key,
                check_name=name,
                passed=passed,
                severity=_severity(name),
                metadata={"rows": rows, "rows_validated": len(frame), **metadata},
            )


def _severity(check_name: str) -> dg.AssetCheckSeverity:
    if check_name == CONTRACT_CHECK:
        return dg.AssetCheckSeverity.ERROR
    return dg.AssetCheckSeverity.WARN


def freshness_hours() -> float:
    return settings.current().freshness_hours


# Dagster calls these checks superseded by FreshnessPolicy, but a FreshnessPolicy only looks at
# when the asset was last materialized, and the loader assets are materialized by every run,
# new files or not. These checks read `dagster/last_updated_timestamp` (when new rows last
# arrived), which is what source freshness means.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", category=dg.SupersessionWarning)
    landing_freshness_checks = dg.build_last_update_freshness_checks(
        assets=LANDING_KEYS,
        lower_bound_delta=dt.timedelta(hours=freshness_hours()),
        severity=dg.AssetCheckSeverity.WARN,
    )

CHECKS = [raw_table_expectations, *landing_freshness_checks]
