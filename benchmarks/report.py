"""The Markdown summary of a benchmark result (result.json -> result.md)."""

from __future__ import annotations

GIB = 2**30
LABELS = {
    "simulate": "simulate",
    "load_floor": "load floor: DuckDB plain read",
    "load": "load (loader)",
    "dbt_parse": "dbt parse",
    "build": "full dbt build (no unit tests, as Dagster runs it)",
    "unit_tests": "dbt unit tests alone (CI)",
    "build_floor": "build floor: kpi_floor.sql",
    "dashboard": "dashboard queries (all runs)",
    "report": "executive report (HTML, last day)",
    "inc_load_prefix": "increment: load all but last day",
    "inc_dbt_parse": "increment: dbt parse",
    "inc_build_prefix": "increment: build all but last day",
    "inc_load_day": "increment: load last day",
    "inc_build_day_all_nodes": "increment: dbt build last day, every node (before)",
    "inc_build_day": "increment: dbt build last day (daily partition)",
    "dagster_full": "Dagster: every dbt asset, all partitions",
    "dagster_day": "Dagster: last day's partition",
}


# the stages that run dbt: their notes summarise its run_results.json
DBT_STAGES = ("build", "unit_tests", "inc_build_prefix", "inc_build_day_all_nodes", "inc_build_day")


def _num(value, fmt: str = ",.0f") -> str:
    return "" if value is None else format(value, fmt)


def _note(name: str, stage: dict) -> str:
    d = stage.get("details") or {}
    if name in DBT_STAGES and d:
        types = d.get("node_seconds_by_type", {})
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(d.get("statuses", {}).items()))
        slowest = ", ".join(
            f"{n['node'].split('.')[2]} {n['seconds']:.0f}" for n in d.get("slowest_nodes", [])[:3]
        )
        per_node = d.get("median_node_seconds")
        return (
            f"dbt {d.get('dbt_elapsed_seconds', 0):.1f} s; {d.get('nodes')} nodes"
            + (f", median {per_node:.2f} s" if per_node is not None else "")
            + f"; node s: models "
            f"{types.get('model', 0):.0f}, tests {types.get('test', 0):.0f}, unit tests "
            f"{types.get('unit_test', 0):.0f}; {statuses}; slowest: {slowest}"
        )
    if name in ("dagster_full", "dagster_day") and d:
        if "error" in d:
            return f"failed: {d['error']}"
        checks = ", ".join(f"{k} {v}" for k, v in sorted(d.get("checks", {}).items()))
        return (
            f"in process {d.get('seconds', 0):.1f} s after imports; "
            + (
                f"{d['assets_materialized']} assets"
                if "assets_materialized" in d
                else f"{d.get('materializations')} materialization events"
            )
            + f"; checks: {checks}"
        )
    if name == "build_floor" and d:
        agreement = d.get("agreement", {})
        verdict = "agrees with the mart" if agreement.get("agrees") else f"differs: {agreement}"
        return f"query {d.get('seconds', 0):.2f} s; {d.get('days')} days; {verdict}"
    if name == "load" and d:
        return f"{d.get('files_loaded')} files, {d.get('rows_quarantined')} rows quarantined"
    if name == "report" and d:
        return f"{d.get('file')}, {d.get('bytes', 0) / 1e3:,.0f} kB (target: under 2 hours)"
    if name in ("inc_load_day", "inc_load_prefix", "simulate") and d:
        return ", ".join(f"{k} {v}" for k, v in d.items())
    return ""


def markdown(result: dict) -> str:
    stages = result["stages"]
    machine = result["machine"]
    lines = [
        f"## Benchmark: scale `{result['scale']}`",
        "",
        f"Commit {result['git_commit']}, {result['started_at']} to {result['finished_at']}; "
        f"{machine['cores']} cores, {machine['memory_bytes'] / GIB:.0f} GiB; load average "
        f"{' / '.join(map(str, machine['load_average_at_start']))} at start, "
        f"{' / '.join(map(str, machine['load_average_at_end']))} at end (1/5/15 min); "
        f"DuckDB memory_limit {result['settings']['duckdb_memory_limit']}.",
        "",
        "| stage | wall s | CPU s | rows | rows/s | peak RSS GiB | notes |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, stage in stages.items():
        lines.append(
            f"| {LABELS.get(name, name)} | {stage['wall_seconds']:.1f} | "
            f"{stage['cpu_seconds']:.1f} | {_num(stage.get('rows'))} | "
            f"{_num(stage.get('rows_per_second'))} | {stage['peak_rss_bytes'] / GIB:.2f} | "
            f"{_note(name, stage)} |"
        )
    ratios = {k: v for k, v in result["ratios"].items() if v is not None}
    if ratios:
        # three decimals under 1: the daily run's target (0.15x) is read at that precision
        lines += [
            "",
            "Ratios: "
            + "; ".join(f"{k} **{v:.{3 if v < 1 else 2}f}x**" for k, v in ratios.items())
            + ".",
        ]
    sizes = result.get("sizes_bytes", {})
    if sizes:
        lines += [
            "",
            "Sizes: " + "; ".join(f"{k} {v / 1e6:,.0f} MB" for k, v in sizes.items()) + ".",
        ]
    queries = (stages.get("dashboard", {}).get("details") or {}).get("queries")
    if queries:
        repeat = stages["dashboard"]["details"].get("repeat")
        lines += [
            "",
            f"Dashboard queries (read-only connection, {repeat} runs each):",
            "",
            "| query | median ms | max ms | first run ms | rows |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, q in queries.items():
            lines.append(
                f"| {name} | {q['median_ms']:.1f} | {q['max_ms']:.1f} | {q['first_ms']:.1f} | "
                f"{q['rows']} |"
            )
    lines.append(
        f"\nPeak RSS of any stage: {result['peak_rss_bytes_max'] / GIB:.2f} GiB, the reference "
        f"floors aside ({result.get('floor_peak_rss_bytes_max', 0) / GIB:.2f} GiB); the sum over "
        "a stage's process tree, sampled every 0.1 s."
    )
    return "\n".join(lines) + "\n"
