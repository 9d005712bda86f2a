"""Great Expectations on landing batches, before they are loaded: one suite per contract table.

The loaders judge rows: a bad row is quarantined and the good rows of its file load. This
module judges **batches** (one landing file each), which the loaders cannot: a file in which
most rows break a rule of the landing contract is a systemic fault upstream (a renamed
column, a new status the contract does not know, a unit change), and loading its few good
rows while quarantining the rest would hide that. Each suite is generated from
``ingestion/contract.py`` (never written by hand):

* every required column exists and is not NULL, every ``enum`` column within its values,
  every ``positive`` column > 0 (numbers parsed from the file's text; an unparsable number
  counts as a failing value), each with ``mostly`` = 1 - ``EXCHANGE_GX_BATCH_TOLERANCE``
  (default 0.5: a batch fails when more than half its rows break one rule);
* an immutable table's primary key is unique within the batch (a key delivered twice in
  one file is no version, it is a fault of the export).

A batch that fails is **held**, never deleted: moved to ``<landing>/_held/<table>/`` (the
loaders ignore folders starting with ``_``) with a ``.reason.txt`` beside it naming each
failed expectation, and the run exits 1 with the same message. Move the file back into its
table folder to load it anyway. Every run publishes Great Expectations Data Docs (static
HTML: the suites, and each batch's validation) under ``--docs`` (default ``data/gx_docs``),
for the data team.

    python -m ingestion.landing_expectations --landing data/landing --docs data/gx_docs

Files already loaded (listed in ``raw._loaded_files`` of ``--warehouse``, when given) are
skipped, so the check before each load costs only the new batches.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingestion.contract import TABLES, SourceTable
from ingestion.loaders.files import discover_files, file_format

DEFAULT_TOLERANCE = 0.5
HELD_FOLDER = "_held"


def tolerance() -> float:
    value = float(os.environ.get("EXCHANGE_GX_BATCH_TOLERANCE", DEFAULT_TOLERANCE))
    if not 0 <= value < 1:
        raise ValueError(f"EXCHANGE_GX_BATCH_TOLERANCE must be in [0, 1), got {value}")
    return value


def batch_expectations(table: SourceTable, mostly: float) -> list[Any]:
    """The suite of one landing batch of ``table``, from the contract."""
    import great_expectations as gx

    expectations: list[Any] = [gx.expectations.ExpectTableRowCountToBeBetween(min_value=1)]
    for column in table.columns:
        if column.required:
            expectations.append(gx.expectations.ExpectColumnToExist(column=column.name))
            expectations.append(
                gx.expectations.ExpectColumnValuesToNotBeNull(column=column.name, mostly=mostly)
            )
        if column.enum:
            expectations.append(
                gx.expectations.ExpectColumnValuesToBeInSet(
                    column=column.name, value_set=list(column.enum), mostly=mostly
                )
            )
        if column.positive:
            expectations.append(
                gx.expectations.ExpectColumnValuesToBeBetween(
                    column=column.name, min_value=0, strict_min=True, mostly=mostly
                )
            )
    if not table.mutable:
        key = list(table.primary_key)
        if len(key) == 1:
            expectations.append(gx.expectations.ExpectColumnValuesToBeUnique(column=key[0]))
        else:
            expectations.append(gx.expectations.ExpectCompoundColumnsToBeUnique(column_list=key))
    return expectations


def read_batch(path: Path, table: SourceTable):
    """The file as a DataFrame: contract columns by name (trimmed, any case), text as read,
    numbers parsed (NaN where unparsable), empty text as NULL."""
    import duckdb
    import pandas as pd

    fmt = file_format(path)
    reader = {
        "csv": f"read_csv('{path}', all_varchar = true, header = true)",
        "jsonl": f"read_json('{path}', format = 'newline_delimited')",
        "parquet": f"read_parquet('{path}')",
    }[fmt]
    with duckdb.connect() as con:
        frame = con.execute(f"select * from {reader}").df()
    by_key = {str(c).strip().lower(): c for c in frame.columns}
    out = pd.DataFrame(index=frame.index)
    for column in table.columns:
        source = by_key.get(column.name.lower())
        if source is None:
            continue  # ExpectColumnToExist fails for a required column
        values = frame[source].astype("string").str.strip().replace("", pd.NA)
        if column.type in ("decimal", "integer"):
            out[column.name] = pd.to_numeric(values, errors="coerce")
        else:
            out[column.name] = values.astype(object).where(values.notna(), None)
    return out


@dataclass
class BatchResult:
    table: str
    path: Path
    rows: int
    failures: list[str] = field(default_factory=list)
    held_to: Path | None = None

    @property
    def passed(self) -> bool:
        return not self.failures


def _failures(result) -> list[str]:
    failures = []
    for res in result.results:
        if res.success:
            continue
        config = res.expectation_config
        detail = res.result or {}
        column = config.kwargs.get("column") or ",".join(config.kwargs.get("column_list") or [])
        if detail.get("unexpected_percent") is not None:
            sample = [str(v) for v in (detail.get("partial_unexpected_list") or [])[:5]]
            what = f"{detail['unexpected_percent']:.1f}% of rows unexpected, e.g. {sample}"
        elif res.exception_info and res.exception_info.get("raised_exception"):
            what = str(res.exception_info.get("exception_message"))[:200]
        else:
            what = f"observed {detail.get('observed_value')}"
        failures.append(f"{config.type}({column}): {what}")
    return failures


def _loaded_files(warehouse: Path | None) -> set[str]:
    if warehouse is None or not Path(warehouse).exists():
        return set()
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        exists = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'raw' and table_name = '_loaded_files'"
        ).fetchone()[0]
        if not exists:
            return set()
        return {r[0] for r in con.execute("select source_file from raw._loaded_files").fetchall()}


def hold(landing: Path, path: Path, failures: list[str]) -> Path:
    """Move a failed batch to <landing>/_held/<table>/, with its reasons beside it."""
    relative = path.relative_to(landing)
    target = landing / HELD_FOLDER / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(path), str(target))
    target.with_name(target.name + ".reason.txt").write_text(
        f"{relative} failed its Great Expectations batch suite and was not loaded:\n"
        + "".join(f"- {f}\n" for f in failures)
        + f"Move it back to {relative.parent}/ to load it anyway.\n"
    )
    return target


def validate_landing(
    landing: Path,
    docs: Path,
    warehouse: Path | None = None,
    tables: list[str] | None = None,
) -> list[BatchResult]:
    """Validate every new landing batch, hold the failing ones, publish Data Docs."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    landing = Path(landing)
    docs = Path(docs)
    mostly = 1 - tolerance()
    loaded = _loaded_files(warehouse)
    context = gx.get_context(mode="file", project_root_dir=str(docs / "project"))
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_or_update_pandas("landing")
    results: list[BatchResult] = []
    for name in tables or list(TABLES):
        table = TABLES[name]
        files = [
            p
            for p in discover_files(landing, name)
            if p.relative_to(landing).as_posix() not in loaded
        ]
        if not files:
            continue
        suite = context.suites.add_or_update(
            gx.ExpectationSuite(
                name=f"landing_{name}", expectations=batch_expectations(table, mostly)
            )
        )
        try:
            asset = source.get_asset(name)
        except LookupError:
            asset = source.add_dataframe_asset(name=name)
        try:
            batch_definition = asset.get_batch_definition("file")
        except KeyError:
            batch_definition = asset.add_batch_definition_whole_dataframe("file")
        definition = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=f"landing_{name}", data=batch_definition, suite=suite)
        )
        checkpoint = context.checkpoints.add_or_update(
            gx.Checkpoint(
                name=f"landing_{name}",
                validation_definitions=[definition],
                actions=[],  # the Data Docs are built once, after every batch
            )
        )
        for path in files:
            frame = read_batch(path, table)
            run = checkpoint.run(
                batch_parameters={"dataframe": frame},
                run_id=gx.RunIdentifier(
                    run_name=path.relative_to(landing).as_posix().replace("/", "__")
                ),
            )
            batch = BatchResult(name, path, len(frame))
            for validation in run.run_results.values():
                batch.failures.extend(_failures(validation))
            if batch.failures:
                batch.held_to = hold(landing, path, batch.failures)
            results.append(batch)
    _publish(context, docs)
    return results


def _publish(context, docs: Path) -> Path:
    """Copy the Data Docs site to <docs>/index.html and its pages."""
    context.build_data_docs()
    site = docs / "project" / "gx" / "uncommitted" / "data_docs" / "local_site"
    for item in site.iterdir():
        target = docs / item.name
        if item.is_dir():
            shutil.copytree(item, target, dirs_exist_ok=True)
        else:
            shutil.copy2(item, target)
    return docs / "index.html"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--docs", type=Path, default=Path("data/gx_docs"))
    parser.add_argument("--warehouse", type=Path, help="skip the files it has loaded already")
    parser.add_argument("--table", action="append", choices=list(TABLES), dest="tables")
    args = parser.parse_args(argv)
    if not args.landing.is_dir():
        print(f"landing directory {args.landing} does not exist", file=sys.stderr)
        return 2
    results = validate_landing(args.landing, args.docs, args.warehouse, args.tables)
    held = [r for r in results if not r.passed]
    print(
        f"{len(results)} batch(es) validated, {len(held)} held; "
        f"Data Docs: {args.docs / 'index.html'}"
    )
    for batch in held:
        print(
            f"HELD {batch.path.relative_to(args.landing)} -> {batch.held_to}:\n"
            + "".join(f"  - {f}\n" for f in batch.failures),
            file=sys.stderr,
            end="",
        )
    return 1 if held else 0


if __name__ == "__main__":
    sys.exit(main())
