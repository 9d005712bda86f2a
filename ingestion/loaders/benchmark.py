"""Time the loader against DuckDB's own plain read of the same files
(docs/reliability.md#scale-and-speed: within 2x).

    python -m ingestion.loaders.benchmark data/landing [--tables trades,orders]
    python -m ingestion.loaders.benchmark /tmp/bench --generate 2000000 --files 8 --format csv

Both runs write a fresh DuckDB file in a scratch directory with the same memory limit:

* floor: per table and format, one ``CREATE TABLE AS SELECT * FROM read_<format>([all files],
  union_by_name = true)`` with DuckDB's type detection, then CHECKPOINT;
* loader: ``load_landing`` (hashing, typing, checks, quarantine, bookkeeping, one transaction
  per file), then CHECKPOINT (it does its own).

``--generate N`` first writes N synthetic ``trades`` rows (and N/2 ``orders``) into the landing
directory, split into ``--files`` files per table, when the simulator's output is not at hand.
A benchmark, not a test: it prints figures and never fails on them. Wall time depends on what
else the machine runs; CPU time (this process with DuckDB's threads) much less so: both are
printed, with ``--repeat N`` the best of N alternating runs.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import resource
import shutil
import tempfile
import time
from pathlib import Path

from warehouse import open_scratch

from .files import discover_files, load_landing, resolve_tables
from .readers import file_format
from .settings import LoaderSettings

FLOOR_READERS = {
    "csv": "read_csv({files}, union_by_name = true)",
    "jsonl": "read_json({files}, format = 'newline_delimited', union_by_name = true)",
    "parquet": "read_parquet({files}, union_by_name = true)",
}

COPY_FORMATS = {
    "csv": ("csv", "(FORMAT csv, HEADER true)"),
    "csv.gz": ("csv.gz", "(FORMAT csv, HEADER true, COMPRESSION gzip)"),
    "parquet": ("parquet", "(FORMAT parquet)"),
    "jsonl": ("jsonl", "(FORMAT json)"),
    "jsonl.gz": ("jsonl.gz", "(FORMAT json, COMPRESSION gzip)"),
}


def generate(landing: Path, rows: int, files: int, fmt: str) -> None:
    """Synthetic trades and orders, vectorised in DuckDB (a stand-in for the simulator)."""
    suffix, options = COPY_FORMATS[fmt]
    queries = {
        "trades": """
            SELECT 'T' || lpad(i::VARCHAR, 12, '0') AS trade_id,
                   'O' || lpad((i // 2)::VARCHAR, 12, '0') AS order_id,
                   'U' || lpad((hash(i) % 50000)::VARCHAR, 7, '0') AS user_id,
                   (1 + hash(i * 7) % 40)::INTEGER AS pair_id,
                   CASE WHEN i % 2 = 0 THEN 'buy' ELSE 'sell' END AS side,
                   round(0.001 + (hash(i * 3) % 100000) / 1000.0, 8)::DECIMAL(20,8) AS quantity,
                   round(10 + (hash(i * 5) % 5000000) / 100.0, 8)::DECIMAL(20,8) AS price,
                   round((hash(i * 11) % 100000) / 1e6, 8)::DECIMAL(20,8) AS fee,
                   'USDT' AS fee_asset,
                   i % 2 = 0 AS is_maker,
                   strftime(TIMESTAMP '2026-01-01' + to_milliseconds(i * 37),
                            '%Y-%m-%dT%H:%M:%S.%gZ')
                       AS executed_at
            FROM range({start}, {stop}) AS t(i)""",
        "orders": """
            SELECT 'O' || lpad(i::VARCHAR, 12, '0') AS order_id,
                   'U' || lpad((hash(i) % 50000)::VARCHAR, 7, '0') AS user_id,
                   (1 + hash(i * 7) % 40)::INTEGER AS pair_id,
                   CASE WHEN i % 3 = 0 THEN 'market' ELSE 'limit' END AS order_type,
                   CASE WHEN i % 2 = 0 THEN 'buy' ELSE 'sell' END AS side,
                   round(0.001 + (hash(i * 3) % 100000) / 1000.0, 8)::DECIMAL(20,8) AS quantity,
                   CASE WHEN i % 3 = 0 THEN NULL
                        ELSE round(10 + (hash(i * 5) % 5000000) / 100.0, 8)::DECIMAL(20,8)
                   END AS price,
                   'filled' AS status,
                   round(0.001 + (hash(i * 3) % 100000) / 1000.0, 8)::DECIMAL(20,8)
                       AS filled_quantity,
                   strftime(TIMESTAMP '2026-01-01' + to_milliseconds(i * 74), '%Y-%m-%d %H:%M:%S')
                       AS created_at,
                   strftime(TIMESTAMP '2026-01-01' + to_milliseconds(i * 74 + 5),
                            '%Y-%m-%d %H:%M:%S+00:00')
                       AS updated_at
            FROM range({start}, {stop}) AS t(i)""",
    }
    sizes = {"trades": rows, "orders": max(1, rows // 2)}
    with open_scratch() as con:
        for table, query in queries.items():
            folder = landing / table
            folder.mkdir(parents=True, exist_ok=True)
            total = sizes[table]
            step = -(-total // files)
            for n, start in enumerate(range(0, total, step)):
                stop = min(total, start + step)
                target = folder / f"{table}_{n:04d}.{suffix}"
                sql = f"COPY ({query.format(start=start, stop=stop)}) TO '{target}' {options}"
                con.execute(sql)


@contextlib.contextmanager
def _timer():
    """Yields a function giving (wall seconds, CPU seconds of this process and its threads)."""

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    wall0, cpu0 = time.perf_counter(), cpu()
    result: list[tuple[float, float]] = []
    yield lambda: result[0]
    result.append((time.perf_counter() - wall0, cpu() - cpu0))


def plain_duckdb_read(
    landing: Path, tables: list[str], database: Path, settings: LoaderSettings
) -> int:
    """DuckDB reading the same files straight into tables: the floor."""
    rows = 0
    with open_scratch(database, limits=settings) as con:
        for table in tables:
            by_format: dict[str, list[str]] = {}
            for path in discover_files(landing, table):
                if path.stat().st_size:
                    by_format.setdefault(file_format(path), []).append(str(path))
            for fmt, files in by_format.items():
                listing = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
                con.execute(
                    f'CREATE TABLE "{table}_{fmt}" AS '
                    f"SELECT * FROM {FLOOR_READERS[fmt].format(files=listing)}"
                )
                rows += con.execute(f'SELECT count(*) FROM "{table}_{fmt}"').fetchone()[0]
        con.execute("CHECKPOINT")
    return rows


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("landing", type=Path)
    parser.add_argument("--tables", default=None)
    parser.add_argument("--generate", type=int, default=0, metavar="ROWS")
    parser.add_argument("--files", type=int, default=8, help="files per table with --generate")
    parser.add_argument("--format", default="csv", choices=sorted(COPY_FORMATS))
    parser.add_argument("--memory-limit", default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--scratch", type=Path, default=None, help="where the two warehouses go")
    parser.add_argument(
        "--repeat", type=int, default=1, help="run both N times, alternately; report the fastest"
    )
    args = parser.parse_args(argv)
    if args.generate:
        started = time.perf_counter()
        generate(args.landing, args.generate, args.files, args.format)
        print(
            f"generated {args.generate} trades into {args.landing} "
            f"in {time.perf_counter() - started:.1f}s"
        )
    tables = resolve_tables(args.tables)
    tables = [t for t in tables if discover_files(args.landing, t)]
    if not tables:
        parser.error(f"no landing files for {args.tables or 'any table'} in {args.landing}")
    settings = LoaderSettings.from_env(memory_limit=args.memory_limit, threads=args.threads)
    floor_runs, loader_runs = [], []  # (wall seconds, CPU seconds)
    for _ in range(max(1, args.repeat)):
        scratch = Path(tempfile.mkdtemp(prefix="loader-bench-", dir=args.scratch))
        try:
            with _timer() as floor:
                floor_rows = plain_duckdb_read(
                    args.landing, tables, scratch / "floor.duckdb", settings
                )
            floor_runs.append(floor())
            with _timer() as loader:
                report = load_landing(
                    args.landing, scratch / "warehouse.duckdb", tables, settings=settings
                )
            loader_runs.append(loader())
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    floor_wall, floor_cpu = min(floor_runs)[0], min(r[1] for r in floor_runs)
    loader_wall, loader_cpu = min(loader_runs)[0], min(r[1] for r in loader_runs)
    if len(floor_runs) > 1:
        print(
            "plain read runs (wall/CPU s): " + ", ".join(f"{w:.2f}/{c:.2f}" for w, c in floor_runs)
        )
        print(
            "loader runs (wall/CPU s):     " + ", ".join(f"{w:.2f}/{c:.2f}" for w, c in loader_runs)
        )
    input_bytes = sum(p.stat().st_size for t in tables for p in discover_files(args.landing, t))
    loader_rows = report.rows_loaded + report.rows_quarantined
    print(f"tables: {', '.join(tables)}; {input_bytes / 1e6:.1f} MB in {report.files_loaded} files")
    print(f"{'':<20}{'rows':>11}{'wall s':>9}{'CPU s':>9}{'rows/s (wall)':>15}")
    for label, rows, wall, cpu in (
        ("DuckDB plain read", floor_rows, floor_wall, floor_cpu),
        ("loader", loader_rows, loader_wall, loader_cpu),
    ):
        print(f"{label:<20}{rows:>11}{wall:>9.2f}{cpu:>9.2f}{rows / wall:>15,.0f}")
    print(
        f"ratio loader / plain read: {loader_wall / floor_wall:.2f}x wall, "
        f"{loader_cpu / floor_cpu:.2f}x CPU "
        f"({report.rows_quarantined} rows quarantined, {report.files_rejected} files rejected)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
