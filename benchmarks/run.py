"""``make bench SCALE=...`` / ``python -m benchmarks --scale medium``: the cost of every stage.

In one run, on the same files, each stage in its own child process (wall time, CPU time of
the process tree, peak RSS of the tree sampled every 0.1 s):

1. ``simulate`` the scale into ``<out>/landing``;
2. ``load_floor``: DuckDB reading those files straight into tables (the load's floor);
3. ``load``: the loader (typed, checked, quarantined, idempotent) into ``<out>/warehouse.duckdb``;
4. ``dbt_parse`` then ``build``: a full ``dbt build`` as production runs it (Dagster's
   ``daily_full_build``: models, seeds, snapshots and data tests, unit tests left out; the time
   of model and test nodes from ``run_results.json``), then ``unit_tests``: the dbt unit tests
   alone (CI's cost, on hand-made rows, the same at every scale);
5. ``build_floor``: ``kpi_floor.sql``, the daily KPI table straight from raw in one statement
   (the build's floor), checked against ``marts.fct_daily_exchange_kpis``;
6. ``dashboard``: the dashboard queries on the marts, read-only, median of several runs;
6b. ``report``: the executive report of the last day (``python -m orchestration.executive_report``,
   read-only; docs/report.md): the figure for "reports in under 2 hours";
7. the daily increment: a second warehouse gets every landing file but the last day's
   (``inc_load_prefix``, ``inc_build_prefix``), then the last day's files arrive and
   ``inc_load_day`` + ``inc_build_day`` run: a day's cost. The prefix's rows are stamped as
   delivered day by day (``stamp_daily_deliveries``), as in a warehouse loaded every day; loaded
   at once, the incremental models' 2-hour lookback would re-read all of it. Both builds run
   as a daily run would (INCREMENT_VARS, INCREMENT_BUILD): without unit tests (they test SQL
   on fixtures; CI runs them, and Dagster's runs leave them out too), and with
   ``test_days: 1``, so the tests of the large event models read the last day
   (macros/test_window.sql). The prefix build is every node; the day's build is the daily
   partition's nodes only (DAILY_SELECT: the daily-partitioned models, tag ``daily_partitioned``,
   what they are built from, and the tests that read only those), what Dagster's run of a day
   partition builds of dbt; the other marts and the full-history tests are the daily full
   build's. The full ``build`` tests all history, without unit tests, like the day's;
8. ``dagster``: the same through Dagster, in process (benchmarks/stages.py ``dagster``):
   ``dagster_full``, every dbt asset over every partition on a copy of the loaded warehouse
   (beside ``build``), and ``dagster_day``, the last day's partition on a copy of the
   increment's warehouse with the last day loaded (beside ``inc_build_day``): Dagster's
   overhead over plain dbt. Each copy runs in the warehouse's place (same path, same dbt
   profile: dbt's partial parse holds as in production; a partition run's vars still make
   dbt parse the project again, which is part of Dagster's cost). It runs with ``--skip`` of
   neither ``build`` nor ``incremental``.

Writes ``<out>/result.json`` and ``<out>/result.md`` (default out: ``data/bench/<scale>``).
A benchmark, not a test: it never fails on a figure. Stages can be skipped with ``--skip``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import psutil

from orchestration.dbt_args import DATA_BUILD
from warehouse import open_warehouse, settings

from .report import markdown

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable
BIN = Path(PY).parent
STAGES = (
    "simulate",
    "load_floor",
    "load",
    "build",
    "build_floor",
    "dashboard",
    "report",
    "incremental",
    "dagster",
)
FLOOR_STAGES = ("load_floor", "build_floor")
# <table>_<YYYY-MM-DD>[_suffix].<ext>: the simulator names each file for the day it is delivered.
# The increment's builds: deliveries a day apart, tests of the last day (see the docstring).
INCREMENT_VARS = ["--vars", "{test_days: 1}"]
# Every build measured runs as Dagster's do: without unit tests (orchestration/dbt_args.py).
FULL_BUILD = DATA_BUILD
INCREMENT_BUILD = [*FULL_BUILD, *INCREMENT_VARS]
# The daily partition's nodes (orchestration/assets/dbt.py): the models tagged `daily_partitioned`
# and what they are built from; `buildable`, as Dagster's runs: the tests that read only those.
DAILY_SELECT = ["--select", "+tag:daily_partitioned", "--indirect-selection", "buildable"]
FILE_DAY = re.compile(r"_(\d{4}-\d{2}-\d{2})(?:_[a-z0-9]+)?\.")
# The stage (of STAGES) each measured step belongs to, where the names differ.
INCREMENTAL_STEPS = (
    "load_prefix",
    "dbt_parse",
    "build_prefix",
    "load_day",
    "build_day_all_nodes",
    "build_day",
)
STAGE_OF = {
    "dbt_parse": "build",
    "unit_tests": "build",
    **{f"inc_{step}": "incremental" for step in INCREMENTAL_STEPS},
    "dagster_full": "dagster",
    "dagster_day": "dagster",
}
SIZE_STAGE = {
    "landing_bytes": "simulate",
    "load_floor_database_bytes": "load_floor",
    "warehouse_after_load_bytes": "load",
    "warehouse_after_build_bytes": "build",
    "incremental_warehouse_bytes": "incremental",
}


@dataclass
class Measured:
    """One stage: wall seconds, CPU seconds of the process tree, peak RSS of the tree (bytes)."""

    name: str
    wall_seconds: float
    cpu_seconds: float
    peak_rss_bytes: int
    returncode: int
    rows: int | None = None
    details: dict = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float | None:
        return self.rows / self.wall_seconds if self.rows and self.wall_seconds else None


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += p.memory_info().rss
    return total


def measure(
    name: str, args: list[str], env: dict, log_dir: Path, check: bool = True
) -> tuple[Measured, str]:
    """Runs one stage; returns its measurement and its stdout. Raises if it failed, unless
    ``check`` is false: the error is then in ``details`` and the run goes on."""
    log_dir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = log_dir / f"{name}.stdout", log_dir / f"{name}.stderr"
    print(f"[bench] {name}: {' '.join(map(str, args))}", flush=True)
    with open(out_path, "w") as out, open(err_path, "w") as err:
        started = time.perf_counter()
        child = subprocess.Popen(args, cwd=REPO, env=env, stdout=out, stderr=err)
        peak = [0]
        done = threading.Event()

        def sample() -> None:
            try:
                proc = psutil.Process(child.pid)
                while not done.is_set():
                    peak[0] = max(peak[0], _tree_rss(proc))
                    done.wait(0.1)
            except psutil.NoSuchProcess:
                pass

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        # wait4: the child's own rusage (CPU of it and its waited-for descendants, max RSS)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        done.set()
        sampler.join()
        child.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss (KiB on Linux) is the largest single process: a floor for the tree's peak
    peak_bytes = max(peak[0], usage.ru_maxrss * 1024)
    result = Measured(name, wall, usage.ru_utime + usage.ru_stime, peak_bytes, child.returncode)
    print(
        f"[bench] {name}: {wall:.1f} s wall, {result.cpu_seconds:.1f} s CPU, "
        f"peak {peak_bytes / 2**30:.2f} GiB",
        flush=True,
    )
    if child.returncode != 0:
        tail = err_path.read_text()[-3000:] or out_path.read_text()[-3000:]
        if check:
            raise RuntimeError(f"stage {name} exited {child.returncode}:\n{tail}")
        result.details = {"error": tail.strip().splitlines()[-1] if tail.strip() else "failed"}
        print(f"[bench] {name} FAILED: {result.details['error']}", flush=True)
    return result, out_path.read_text()


def _json_tail(stdout: str) -> dict:
    """The last JSON object a stage printed (tools may print other lines before it)."""
    start = stdout.rfind("\n{")
    return json.loads(stdout[start + 1 :] if start >= 0 else stdout)


# The mart the build floor computes: the build's models on its path are set against the floor.
FLOOR_MART = "model.crypto_exchange.fct_daily_exchange_kpis"


def ancestors(manifest: dict, unique_id: str) -> set[str]:
    """``unique_id`` and every node it is built from (dbt's parent map)."""
    seen, todo = {unique_id}, [unique_id]
    while todo:
        for parent in manifest["parent_map"].get(todo.pop(), []):
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def _dbt_summary(target_path: Path) -> dict:
    results = json.loads((target_path / "run_results.json").read_text())
    manifest = json.loads((target_path / "manifest.json").read_text())
    kpi_path = ancestors(manifest, FLOOR_MART)
    kpi_path_seconds = sum(
        r["execution_time"]
        for r in results["results"]
        if r["unique_id"] in kpi_path and r["unique_id"].startswith("model.")
    )
    by_type: dict[str, float] = {}
    statuses: dict[str, int] = {}
    slowest = []
    node_seconds = sorted(r["execution_time"] for r in results["results"])
    for r in results["results"]:
        kind = r["unique_id"].split(".")[0]
        by_type[kind] = by_type.get(kind, 0.0) + r["execution_time"]
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
        slowest.append((r["execution_time"], r["unique_id"]))
    slowest.sort(reverse=True)
    return {
        "dbt_elapsed_seconds": results["elapsed_time"],
        "nodes": len(results["results"]),
        # the fixed cost of a node: most nodes (small tests, views) take about this long
        "median_node_seconds": round(node_seconds[len(node_seconds) // 2], 3)
        if node_seconds
        else None,
        "statuses": statuses,
        "node_seconds_by_type": {k: round(v, 2) for k, v in sorted(by_type.items())},
        "slowest_nodes": [{"node": n, "seconds": round(s, 2)} for s, n in slowest[:8]],
        # node seconds of the models fct_daily_exchange_kpis is built from (itself included),
        # timed inside the build (each query on every core, one model at a time)
        "kpi_path_models": sum(1 for u in kpi_path if u.startswith("model.")),
        "kpi_path_model_seconds": round(kpi_path_seconds, 2),
    }


def split_landing(landing: Path, prefix: Path, day: Path) -> tuple[str, int, int]:
    """Hard-links the landing files into ``prefix`` (every day but the last) and ``day`` (the
    last day's files only): what ``simulate --until <day before>`` and then the full run write."""
    files = [
        p
        for p in landing.rglob("*")
        if p.is_file() and not any(part.startswith("_") for part in p.relative_to(landing).parts)
    ]
    days = {p: m.group(1) for p in files if (m := FILE_DAY.search(p.name))}
    last = max(days.values())
    counts = [0, 0]
    for path in files:
        is_last = days.get(path) == last
        target = (day if is_last else prefix) / path.relative_to(landing)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target)
        except OSError:
            shutil.copy2(path, target)
        counts[is_last] += 1
    return last, counts[0], counts[1]


def _move_tree(source: Path, destination: Path) -> None:
    for path in sorted(source.rglob("*")):
        if path.is_file():
            target = destination / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)


def stamp_daily_deliveries(warehouse: Path) -> None:
    """Stamps each raw row as loaded the day after its file's day (``_loaded_at``; the simulator
    names each file for the day it is delivered), keeping its offset from the start of the load,
    so the order of loads holds: the prefix as a warehouse loaded day by day holds it. Loaded at
    once, every prefix row lies within the incremental models' lookback (``lookback_hours``)
    of the newest, and the day's build would re-read all history, as the first daily run after
    a one-shot backfill does (docs/deployment.md#backfilling-history)."""
    with open_warehouse(warehouse) as con:
        tables = con.execute(
            "select table_name from information_schema.columns "
            "where column_name = '_loaded_at' and table_schema = 'raw'"
        ).fetchall()
        for (table,) in tables:
            con.execute(
                f"""
                update raw."{table}"
                set _loaded_at = coalesce(
                    cast(nullif(regexp_extract(_source_file, ?, 1), '') as date) + interval 1 day,
                    _loaded_at - interval 1 day
                ) + (_loaded_at - (select min(_loaded_at) from raw."{table}"))
                """,
                [FILE_DAY.pattern],
            )
        con.execute("checkpoint")


def dagster_command(mode: str, partition: str | None = None) -> list[str]:
    """Dagster materializing the dbt assets in process (benchmarks/stages.py)."""
    return [
        PY,
        "-m",
        "benchmarks.stages",
        "dagster",
        "--mode",
        mode,
        *(["--partition", partition] if partition else []),
    ]


def _git_commit() -> str:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO,
            capture_output=True,
            text=True,
        ).stdout.strip()
        return f"{commit}{'+uncommitted' if dirty else ''}" if commit else "unknown"
    except OSError:
        return "unknown"


def project_env(out: Path, warehouse: Path, target: str, memory_limit: str) -> dict:
    env = dict(os.environ)
    env.update(
        EXCHANGE_WAREHOUSE=str(warehouse),
        EXCHANGE_DUCKDB_TEMP_DIR=str(out / "duckdb_tmp"),
        EXCHANGE_DUCKDB_MEMORY_LIMIT=memory_limit,
        DBT_TARGET_PATH=str(out / target),
        DBT_LOG_PATH=str(out / f"{target}_logs"),
        DBT_PROFILES_DIR=env.get("DBT_PROFILES_DIR", str(REPO)),
        DO_NOT_TRACK="1",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    env.setdefault("DBT_ENV_SECRET_PII_HASH_KEY", "benchmark-key")
    return env


def stage_command(stage: str, memory_limit: str) -> list[str]:
    """A floor or query stage of benchmarks/stages.py."""
    return [PY, "-m", "benchmarks.stages", stage, "--memory-limit", memory_limit]


def loader_command(landing: Path, warehouse: Path) -> list[str]:
    """The loader as a user runs it, with its report as JSON."""
    return [
        PY,
        "-m",
        "ingestion.loaders",
        "--quiet",
        "--json",
        "--landing",
        str(landing),
        "--warehouse",
        str(warehouse),
    ]


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def run(args: argparse.Namespace) -> dict:
    out: Path = args.out.resolve()
    if args.fresh and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    logs = out / "logs"
    landing, warehouse = out / "landing", out / "warehouse.duckdb"
    env = project_env(out, warehouse, "dbt_target", args.memory_limit)
    stages: dict[str, Measured] = {}
    sizes: dict[str, int] = {}
    started_at = dt.datetime.now(dt.UTC)
    load_before = os.getloadavg()
    skip = set(args.skip)

    def record(m: Measured) -> Measured:
        stages[m.name] = m
        _write(out, _result(args, started_at, load_before, stages, sizes))
        return m

    earlier = out / "result.json"
    if skip and earlier.exists():  # a skipped stage keeps the figures of the run that measured it
        previous = json.loads(earlier.read_text())
        for name, figures in previous["stages"].items():
            if STAGE_OF.get(name, name) in skip:
                figures.pop("rows_per_second", None)
                stages[name] = Measured(**figures)
                stages[name].details.setdefault("reused_from", previous["started_at"])
        sizes.update(
            (k, v) for k, v in previous.get("sizes_bytes", {}).items() if SIZE_STAGE.get(k) in skip
        )
    if "simulate" not in skip:
        shutil.rmtree(landing, ignore_errors=True)
        m, _ = measure(
            "simulate",
            [
                PY,
                "-m",
                "simulator",
                "--scale",
                args.scale,
                "--out",
                str(landing),
                "--quiet",
                "--overwrite",
            ],
            env,
            logs,
        )
        manifest = json.loads((landing / "_simulator" / "manifest.json").read_text())
        m.rows = sum(manifest["row_counts"].values())
        m.details = {"files": sum(manifest["file_counts"].values())}
        record(m)
    if not landing.is_dir() and not {"load_floor", "load", "incremental"} <= skip:
        raise SystemExit(f"no landing directory at {landing}: run without --skip simulate")
    if landing.is_dir():
        sizes["landing_bytes"] = sum(p.stat().st_size for p in landing.rglob("*") if p.is_file())

    if "load_floor" not in skip:
        floor_db = out / "load_floor.duckdb"
        floor_db.unlink(missing_ok=True)
        m, stdout = measure(
            "load_floor",
            [
                *stage_command("load-floor", args.floor_memory_limit),
                "--landing",
                str(landing),
                "--database",
                str(floor_db),
            ],
            env,
            logs,
            check=False,
        )
        m.rows = _json_tail(stdout)["rows"] if m.returncode == 0 else None
        sizes["load_floor_database_bytes"] = _size(floor_db)
        floor_db.unlink(missing_ok=True)
        record(m)

    if "load" not in skip:
        warehouse.unlink(missing_ok=True)
        m, stdout = measure("load", loader_command(landing, warehouse), env, logs)
        report = _json_tail(stdout)
        m.rows = report["rows_loaded"] + report["rows_quarantined"]
        m.details = {k: report[k] for k in ("rows_loaded", "rows_quarantined", "files_loaded")}
        sizes["warehouse_after_load_bytes"] = _size(warehouse)
        record(m)
    if args.free_landing and "incremental" in skip:  # nothing reads the files after the load
        shutil.rmtree(landing)

    with_dagster = not {"dagster", "build", "incremental"} & skip
    dagster_warehouse = out / "dagster" / "warehouse.duckdb"
    if with_dagster:  # the loaded warehouse, for Dagster's full build
        dagster_warehouse.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(warehouse, dagster_warehouse)

    if "build" not in skip:
        record(measure("dbt_parse", [str(BIN / "dbt"), "parse"], env, logs)[0])
        m, _ = measure("build", [str(BIN / "dbt"), *FULL_BUILD], env, logs)
        m.details = _dbt_summary(out / "dbt_target")
        sizes["warehouse_after_build_bytes"] = _size(warehouse)
        record(m)
        # its own target path: the build's run_results.json stays for a look at every node
        unit_target = out / "dbt_target_unit_tests"
        unit_tests = [str(BIN / "dbt"), "test", "--select", "test_type:unit"]
        m, _ = measure("unit_tests", [*unit_tests, "--target-path", str(unit_target)], env, logs)
        m.details = _dbt_summary(unit_target)
        record(m)

    if with_dagster:
        # The loaded copy takes the warehouse's place (same path, so dbt's partial parse of
        # the same profile holds, as in production); Dagster's build then stays there.
        os.replace(warehouse, dagster_warehouse.with_name("built_by_dbt.duckdb"))
        os.replace(dagster_warehouse, warehouse)
        m, stdout = measure("dagster_full", dagster_command("full"), env, logs, False)
        m.details = _json_tail(stdout) if m.returncode == 0 else m.details
        record(m)
        if m.returncode:  # back to the warehouse dbt built
            os.replace(dagster_warehouse.with_name("built_by_dbt.duckdb"), warehouse)
        shutil.rmtree(dagster_warehouse.parent, ignore_errors=True)

    if "build_floor" not in skip:
        m, stdout = measure(
            "build_floor",
            [*stage_command("kpi-floor", args.memory_limit), "--warehouse", str(warehouse)],
            env,
            logs,
            check=False,
        )
        m.details = _json_tail(stdout) if m.returncode == 0 else m.details
        record(m)

    if "dashboard" not in skip:
        m, stdout = measure(
            "dashboard",
            [
                *stage_command("dashboard", args.memory_limit),
                "--warehouse",
                str(warehouse),
                "--repeat",
                str(args.query_repeat),
            ],
            env,
            logs,
            check=False,
        )
        m.details = _json_tail(stdout) if m.returncode == 0 else m.details
        record(m)

    if "report" not in skip:
        report_out = out / "report"
        m, stdout = measure(
            "report",
            [
                PY,
                "-m",
                "orchestration.executive_report",
                "--warehouse",
                str(warehouse),
                "--out",
                str(report_out),
            ],
            env,
            logs,
            check=False,
        )
        if m.returncode == 0:
            written = sorted(report_out.glob("exec_report_*.html"))
            m.details = {
                "file": written[-1].name if written else None,
                "bytes": written[-1].stat().st_size if written else 0,
            }
        record(m)

    if "incremental" not in skip:
        inc = out / "incremental"
        shutil.rmtree(inc, ignore_errors=True)
        inc_landing, held = inc / "landing", inc / "last_day"
        inc_warehouse = inc / "warehouse.duckdb"
        last_day, n_prefix, n_day = split_landing(landing, inc_landing, held)
        inc_env = project_env(inc, inc_warehouse, "dbt_target", args.memory_limit)
        load = loader_command(inc_landing, inc_warehouse)
        m, stdout = measure("inc_load_prefix", load, inc_env, logs)
        m.rows = _json_tail(stdout)["rows_loaded"]
        m.details = {"files": n_prefix, "days": "all but " + last_day}
        record(m)
        stamp_daily_deliveries(inc_warehouse)
        dbt_parse = [str(BIN / "dbt"), "parse", *INCREMENT_VARS]
        dbt_build = [str(BIN / "dbt"), *INCREMENT_BUILD]
        dbt_build_day = [*dbt_build, *DAILY_SELECT]
        record(measure("inc_dbt_parse", dbt_parse, inc_env, logs)[0])
        m, _ = measure("inc_build_prefix", dbt_build, inc_env, logs)
        m.details = _dbt_summary(inc / "dbt_target")
        record(m)
        _move_tree(held, inc_landing)  # the last day's files arrive
        m, stdout = measure("inc_load_day", load, inc_env, logs)
        m.rows = _json_tail(stdout)["rows_loaded"]
        m.details = {"files": n_day, "day": last_day}
        record(m)
        # Every build of the day starts from this state (the prefix built, the day loaded), in
        # the warehouse's place: the same path keeps dbt's partial parse, as in production.
        day_loaded = inc / "day_loaded.duckdb"
        if args.compare_all_nodes or with_dagster or args.keep:
            shutil.copy2(inc_warehouse, day_loaded)
        if args.compare_all_nodes:  # the day's build as it was: every node
            m, _ = measure("inc_build_day_all_nodes", dbt_build, inc_env, logs)
            m.details = _dbt_summary(inc / "dbt_target")
            record(m)
            if with_dagster:
                shutil.copy2(day_loaded, inc_warehouse)
            else:
                os.replace(day_loaded, inc_warehouse)
        m, _ = measure("inc_build_day", dbt_build_day, inc_env, logs)
        m.details = _dbt_summary(inc / "dbt_target")
        sizes["incremental_warehouse_bytes"] = _size(inc_warehouse)
        record(m)
        if with_dagster:
            built = inc / "built_by_dbt.duckdb"
            os.replace(inc_warehouse, built)
            if args.keep:
                shutil.copy2(day_loaded, inc_warehouse)
            else:
                os.replace(day_loaded, inc_warehouse)
            day_command = dagster_command("day", last_day)
            m, stdout = measure("dagster_day", day_command, inc_env, logs, False)
            m.details = _json_tail(stdout) if m.returncode == 0 else m.details
            record(m)
            os.replace(built, inc_warehouse)
        if not args.keep:
            shutil.rmtree(inc, ignore_errors=True)

    result = _result(args, started_at, load_before, stages, sizes)
    _write(out, result)
    return result


def _ratio(stages: dict, a: str, b: str, key: str = "wall_seconds") -> float | None:
    if a in stages and b in stages and stages[b][key]:
        if stages[a]["returncode"] or stages[b]["returncode"]:
            return None
        return round(stages[a][key] / stages[b][key], 3)
    return None


def _result(args, started_at, load_before, stages: dict[str, Measured], sizes: dict) -> dict:
    as_dicts = {}
    for name, m in stages.items():
        d = asdict(m)
        d["rows_per_second"] = m.rows_per_second
        as_dicts[name] = d
    floor_seconds = None
    if "build_floor" in as_dicts:
        floor_seconds = as_dicts["build_floor"]["details"].get("seconds")
    ratios = {
        "load_over_floor_wall": _ratio(as_dicts, "load", "load_floor"),
        "load_over_floor_cpu": _ratio(as_dicts, "load", "load_floor", "cpu_seconds"),
        "build_over_floor_wall": _ratio(as_dicts, "build", "build_floor"),
        "build_over_floor_cpu": _ratio(as_dicts, "build", "build_floor", "cpu_seconds"),
        "inc_build_day_over_build": _ratio(as_dicts, "inc_build_day", "build"),
        "inc_build_day_over_build_cpu": _ratio(as_dicts, "inc_build_day", "build", "cpu_seconds"),
        "inc_build_day_all_nodes_over_build": _ratio(as_dicts, "inc_build_day_all_nodes", "build"),
        "inc_load_and_build_day_over_load_and_build": None,
        # Dagster's overhead over plain dbt (both leave unit tests out)
        "dagster_full_over_build": _ratio(as_dicts, "dagster_full", "build"),
        "dagster_day_over_build_day": _ratio(as_dicts, "dagster_day", "inc_build_day"),
        "dagster_day_over_dagster_full": _ratio(as_dicts, "dagster_day", "dagster_full"),
    }
    if all(k in as_dicts for k in ("inc_load_day", "inc_build_day", "load", "build")):
        day = as_dicts["inc_load_day"]["wall_seconds"] + as_dicts["inc_build_day"]["wall_seconds"]
        full = as_dicts["load"]["wall_seconds"] + as_dicts["build"]["wall_seconds"]
        ratios["inc_load_and_build_day_over_load_and_build"] = round(day / full, 3)
    if floor_seconds and "build" in as_dicts:
        ratios["build_over_floor_query"] = round(
            as_dicts["build"]["wall_seconds"] / floor_seconds, 3
        )
        kpi_path = as_dicts["build"]["details"].get("kpi_path_model_seconds")
        if kpi_path:
            ratios["kpi_path_models_over_floor_query"] = round(kpi_path / floor_seconds, 3)
    return {
        "scale": args.scale,
        "started_at": started_at.isoformat(timespec="seconds"),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git_commit": _git_commit(),
        "machine": {
            "cores": os.cpu_count(),
            "memory_bytes": psutil.virtual_memory().total,
            "platform": platform.platform(),
            "python": platform.python_version(),
            "duckdb": duckdb.__version__,
            "load_average_at_start": [round(x, 2) for x in load_before],
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "settings": {
            "duckdb_memory_limit": args.memory_limit,
            "load_floor_memory_limit": args.floor_memory_limit,
            "query_repeat": args.query_repeat,
        },
        "stages": as_dicts,
        "sizes_bytes": sizes,
        "ratios": ratios,
        # the target (peak memory under 4 GiB) is the product's: the floors are references
        "peak_rss_bytes_max": max(
            (m.peak_rss_bytes for n, m in stages.items() if n not in FLOOR_STAGES), default=0
        ),
        "floor_peak_rss_bytes_max": max(
            (m.peak_rss_bytes for n, m in stages.items() if n in FLOOR_STAGES), default=0
        ),
    }


def _write(out: Path, result: dict) -> None:
    (out / "result.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    (out / "result.md").write_text(markdown(result))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--scale", default="small", choices=("tiny", "small", "medium", "large"))
    parser.add_argument("--out", type=Path, default=None, help="default data/bench/<scale>")
    parser.add_argument(
        "--memory-limit",
        default=settings.current().duckdb_memory_limit,
        help="DuckDB memory_limit of every stage (default $EXCHANGE_DUCKDB_MEMORY_LIMIT or 3GB)",
    )
    parser.add_argument(
        "--floor-memory-limit",
        default="8GB",
        help="DuckDB memory_limit of the load floor (its reader of many JSON files at once "
        "needs more than 3GB at medium; the floor is a reference, not held to the target)",
    )
    parser.add_argument("--query-repeat", type=int, default=7, help="runs per dashboard query")
    parser.add_argument(
        "--skip",
        nargs="*",
        default=[],
        choices=STAGES,
        help="stages to skip (reuses what an earlier run left in --out)",
    )
    parser.add_argument("--fresh", action="store_true", help="delete --out first")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the incremental warehouse, and a copy of it before the day's build "
        "(incremental/day_loaded.duckdb) to time that build again",
    )
    parser.add_argument(
        "--compare-all-nodes",
        action="store_true",
        help="also time the last day's build over every node (a daily run before it was the "
        "day partition's nodes only), on a copy of the increment's warehouse",
    )
    parser.add_argument(
        "--free-landing",
        action="store_true",
        help="with --skip incremental: delete the landing files after the load (a large scale "
        "on a small disk; a later run then reuses the run only with --skip simulate load_floor "
        "load)",
    )
    args = parser.parse_args(argv)
    args.out = args.out or REPO / "data" / "bench" / args.scale
    result = run(args)
    print(markdown(result))
    print(f"[bench] wrote {args.out / 'result.json'} and {args.out / 'result.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
