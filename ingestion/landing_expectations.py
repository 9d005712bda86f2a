"""Great Expectations on landing batches, before they are loaded: one suite per contract table.

The loaders judge rows: a bad row is quarantined and the good rows of its file load. This
module judges **batches** (one landing file each), which the loaders cannot: a file in which
most rows break a rule of the landing contract is a systemic fault upstream (a renamed
column, a new status the contract does not know, a unit change), and loading its few good
rows while quarantining the rest would hide that. Each suite is generated from
``ingestion/contract.py`` (never written by hand):

* every required column exists and is not NULL, every ``enum`` column within its values,
  every ``positive`` column > 0 (numbers parsed from the file's text; an unparsable number is
  NULL, so it fails a required column), each with ``mostly`` = 1 - ``EXCHANGE_GX_BATCH_TOLERANCE``
  (default 0.5: a file fails when more than half its rows break one rule);
* an immutable table's primary key is unique within each file (a key delivered twice in
  one file is no version, it is a fault of the export).

One validation per table covers all its new files (the *delivery*), each row carrying its
file in a ``_file`` column; each file is judged from the unexpected rows Great Expectations
lists with their ``_file``. One validation per table, not per file, keeps the gate to seconds
on a first load of a thousand files (a validation costs about 0.3 s of fixed work).

A file that fails is **held**, never deleted: moved to ``<landing>/_held/<table>/`` (the
loaders ignore folders starting with ``_``) with a ``.reason.txt`` beside it naming each
failed expectation, and the command exits 3 (``HELD_EXIT``) with the same message. Move the
file back into its table folder to load it anyway. Every run publishes Great Expectations
Data Docs (static HTML: the suites, and each delivery's validation) under ``--docs``
(default ``EXCHANGE_GX_DOCS_DIR``, ``data/gx_docs``), for the data team. The Dagster landing
assets run the same gate before each load (orchestration/assets/landing.py);
docs/great_expectations.md has the measured cost.

    python -m ingestion.landing_expectations --landing data/landing --docs data/gx_docs

Files already loaded (listed in ``raw._loaded_files`` of ``--warehouse``, when given, with
the same content: a path re-delivered with new content is loaded again, so it is judged again)
are skipped, so the check before each load costs only the new batches.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from ingestion.contract import TABLES, SourceTable
from ingestion.loaders.files import discover_files, file_format, file_sha256
from ingestion.loaders.readers import sql_literal
from warehouse import open_scratch, open_warehouse, settings

HELD_FOLDER = "_held"
HELD_EXIT = 3  # the command's exit code when it held a file (1 is a crash, 2 a usage error)
FILE_COLUMN = "_file"  # each row's landing file, so one validation judges every file


def tolerance() -> float:
    """``EXCHANGE_GX_BATCH_TOLERANCE`` (``warehouse/settings.py`` checks it is in [0, 1))."""
    return settings.current().gx_batch_tolerance


def batch_expectations(table: SourceTable, mostly: float) -> list[Any]:
    """The suite of one landing batch of ``table``, from the contract."""
    import great_expectations as gx

    # No row-count rule: a header-only file is a quiet day's delivery, not a fault.
    expectations: list[Any] = []
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
    if not table.mutable:  # unique within each file of the delivery
        expectations.append(
            gx.expectations.ExpectCompoundColumnsToBeUnique(
                column_list=[FILE_COLUMN, *table.primary_key]
            )
        )
    return expectations


_READERS = {
    "csv": "read_csv({files}, all_varchar = true, header = true, filename = true{union})",
    "jsonl": "read_json({files}, format = 'newline_delimited', filename = true{union})",
    "parquet": "read_parquet({files}, filename = true{union})",
}


def _read_files(con, paths: list[Path], fmt: str, union: bool = False):
    listed = "[" + ", ".join(sql_literal(str(p)) for p in paths) + "]"
    reader = _READERS[fmt].format(files=listed, union=", union_by_name = true" if union else "")
    return con.execute(f"select * from {reader}").df()


def read_delivery(landing: Path, paths: list[Path], table: SourceTable):
    """The new files of one table as one DataFrame, a ``_file`` column naming each row's file
    (its landing-relative path): contract columns by name (trimmed, any case), text as read,
    numbers parsed (NaN where unparsable), empty text as NULL.

    One DuckDB read per file format, columns matched by name; when the files' headers differ,
    a read by name across all of them (``union_by_name``, slower: every file is sniffed);
    when a file breaks that too, each file alone, and an unreadable file is left to the loader
    (which rejects it with its reason, docs/landing_contract.md)."""
    import pandas as pd

    frames = []
    with open_scratch() as con:
        by_format: dict[str, list[Path]] = {}
        for path in paths:
            by_format.setdefault(file_format(path), []).append(path)
        for fmt, group in by_format.items():
            for union in (False, True):
                try:
                    frames.append(_read_files(con, group, fmt, union))
                    break
                except duckdb.Error:
                    continue
            else:
                for path in group:
                    with contextlib.suppress(duckdb.Error):
                        frames.append(_read_files(con, [path], fmt))
    out = pd.DataFrame({FILE_COLUMN: pd.Series(dtype=object)})
    if not frames:
        return out
    raw = pd.concat(frames, ignore_index=True)
    out = pd.DataFrame(index=raw.index)
    files = raw.pop("filename")
    relative = {f: Path(f).relative_to(landing).as_posix() for f in files.unique()}
    out[FILE_COLUMN] = files.map(relative)
    by_key: dict[str, list] = {}
    for c in raw.columns:  # a header may differ in case or spaces between files
        by_key.setdefault(str(c).strip().lower(), []).append(c)
    for column in table.columns:
        sources = by_key.get(column.name.lower())
        if not sources:
            continue  # ExpectColumnToExist fails for a required column
        values = raw[sources[0]].astype("string")
        for other in sources[1:]:
            values = values.fillna(raw[other].astype("string"))
        values = values.str.strip().replace("", pd.NA)
        if column.type in ("decimal", "integer"):
            out[column.name] = pd.to_numeric(values, errors="coerce")
        else:
            out[column.name] = values.astype(object).where(values.notna(), None)
    return out


@dataclass
class BatchResult:
    """One landing file's verdict."""

    table: str
    path: Path
    rows: int
    failures: list[str] = field(default_factory=list)
    held_to: Path | None = None

    @property
    def passed(self) -> bool:
        return not self.failures


def _column_label(config) -> str:
    return config.kwargs.get("column") or ",".join(
        c for c in config.kwargs.get("column_list") or [] if c != FILE_COLUMN
    )


def file_failures(result, rows_per_file: dict[str, int], mostly: float) -> dict[str, list[str]]:
    """Each file's failed expectations, from one validation of the delivery: a file fails an
    expectation when more than ``1 - mostly`` of its rows are unexpected (a duplicated key:
    any), or when a required column is missing from every file."""
    failures: dict[str, list[str]] = {}
    for res in result.results:
        config = res.expectation_config
        label = f"{config.type}({_column_label(config)})"
        detail = res.result or {}
        if config.type == "expect_column_to_exist":
            if not res.success:
                for name in rows_per_file:
                    failures.setdefault(name, []).append(f"{label}: the column is missing")
            continue
        unexpected: dict[str, list] = {}
        for row in detail.get("unexpected_index_list") or []:
            values = [v for k, v in row.items() if k != FILE_COLUMN]
            unexpected.setdefault(row[FILE_COLUMN], []).extend(values[:1])
        unique = config.type.endswith("to_be_unique")
        for name, values in unexpected.items():
            share = len(values) / max(rows_per_file.get(name, 0), 1)
            if unique or share > 1 - mostly:
                sample = [str(v) for v in values[:5]]
                failures.setdefault(name, []).append(
                    f"{label}: {100 * share:.1f}% of rows unexpected, e.g. {sample}"
                )
    return failures


def _loaded_files(warehouse: Path | None) -> dict[str, set[str]]:
    if warehouse is None or not Path(warehouse).exists():
        return {}
    with open_warehouse(warehouse, read_only=True) as con:
        return loaded_files(con)


def loaded_files(con) -> dict[str, set[str]]:
    """Landing-relative path -> the SHA-256s loaded under it, from ``raw._loaded_files`` of an
    open warehouse connection (the loader's record of what it has loaded)."""
    exists = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'raw' and table_name = '_loaded_files'"
    ).fetchone()[0]
    if not exists:
        return {}
    loaded: dict[str, set[str]] = {}
    rows = con.execute("select source_file, file_sha256 from raw._loaded_files").fetchall()
    for path, sha in rows:
        loaded.setdefault(path, set()).add(sha)
    return loaded


def _is_new(path: Path, landing: Path, loaded: dict[str, set[str]]) -> bool:
    """Not loaded yet: a new path, or a loaded path whose content changed (the loader loads it
    again, ingestion/loaders/files.py), hashed as the loader hashes it."""
    shas = loaded.get(path.relative_to(landing).as_posix())
    return shas is None or file_sha256(path) not in shas


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
    loaded: dict[str, set[str]] | None = None,
) -> list[BatchResult]:
    """Validate every new landing batch, hold the failing ones, publish Data Docs.

    ``loaded``: files to skip (default: those in ``raw._loaded_files`` of ``warehouse``)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    landing = Path(landing)
    docs = Path(docs)
    mostly = 1 - tolerance()
    if loaded is None:
        loaded = _loaded_files(warehouse)
    context = gx.get_context(mode="file", project_root_dir=str(docs / "project"))
    context.variables.analytics_enabled = False  # set here, not through os.environ
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_or_update_pandas("landing")
    results: list[BatchResult] = []
    for name in tables or list(TABLES):
        table = TABLES[name]
        files = [p for p in discover_files(landing, name) if _is_new(p, landing, loaded)]
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
            batch_definition = asset.get_batch_definition("delivery")
        except KeyError:
            batch_definition = asset.add_batch_definition_whole_dataframe("delivery")
        definition = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=f"landing_{name}", data=batch_definition, suite=suite)
        )
        checkpoint = context.checkpoints.add_or_update(
            gx.Checkpoint(
                name=f"landing_{name}",
                validation_definitions=[definition],
                actions=[],  # the Data Docs are built once, after every table
                result_format={
                    "result_format": "COMPLETE",
                    "unexpected_index_column_names": [FILE_COLUMN],
                    "return_unexpected_index_query": False,
                },
            )
        )
        frame = read_delivery(landing, files, table)
        rows_per_file = frame[FILE_COLUMN].value_counts().to_dict()
        run = checkpoint.run(
            batch_parameters={"dataframe": frame},
            run_id=gx.RunIdentifier(run_name=f"{name}__{len(files)}_files"),
        )
        failures: dict[str, list[str]] = {}
        for validation in run.run_results.values():
            for file, found in file_failures(validation, rows_per_file, mostly).items():
                failures.setdefault(file, []).extend(found)
        for path in files:
            relative = path.relative_to(landing).as_posix()
            rows = rows_per_file.get(relative, 0)
            batch = BatchResult(name, path, rows, failures.get(relative, []))
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
    parser.add_argument("--docs", type=Path, default=settings.current().gx_docs_dir)
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
    return HELD_EXIT if held else 0


if __name__ == "__main__":
    sys.exit(main())
