"""What a Dagster run costs its instance's storage: the events of a recorded run written again
into a fresh SQLite instance and, with ``--postgres-url``, a PostgreSQL one, timed.

    .venv/bin/python scripts/dagster_storage_overhead.py --source-home data/dagster_home \
        [--run-id ID] [--postgres-url postgresql+psycopg2://postgres@127.0.0.1:5432/dagster_overhead]

The source is a DAGSTER_HOME where the run was recorded (``make pipeline`` with DAGSTER_HOME
set, or ``dagster job execute``); the latest run by default. Prints the run's events by type
and the seconds each storage took to write them, one event at a time as a run does. The
PostgreSQL database must exist; the copy's events are deleted afterwards.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import dagster as dg
import yaml


def _instance(home: Path, postgres_url: str | None) -> dg.DagsterInstance:
    from orchestration.instance import write_dagster_home

    path = write_dagster_home(home, use_postgres=bool(postgres_url))
    if postgres_url:
        # A scratch instance of this script: the URL written in, not read from the environment.
        config = yaml.safe_load(path.read_text())
        config["storage"]["postgres"]["postgres_url"] = postgres_url
        path.write_text(yaml.safe_dump(config, sort_keys=False))
    return dg.DagsterInstance.from_config(str(home))


def replay(events, instance: dg.DagsterInstance) -> float:
    """Seconds to store ``events`` (under a new run id) in ``instance``, one at a time."""
    run_id = str(uuid.uuid4())  # a Dagster run id
    started = time.perf_counter()
    for entry in events:
        instance.event_log_storage.store_event(entry._replace(run_id=run_id))
    seconds = time.perf_counter() - started
    instance.event_log_storage.delete_events(run_id)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source-home", type=Path, required=True)
    parser.add_argument("--run-id")
    parser.add_argument("--postgres-url")
    parser.add_argument(
        "--limit", type=int, help="replay only the first N events (the figure is per event)"
    )
    args = parser.parse_args(argv)

    source = dg.DagsterInstance.from_config(str(args.source_home.resolve()))
    run = source.get_run_by_id(args.run_id) if args.run_id else source.get_runs(limit=1)[0]
    events = source.all_logs(run.run_id)
    kinds = Counter(e.dagster_event.event_type_value if e.dagster_event else "log" for e in events)
    print(f"run {run.run_id} ({run.job_name}, {run.status.value}): {len(events)} events")
    for kind, count in kinds.most_common(8):
        print(f"  {count:6d} {kind}")
    sample = events[: args.limit] if args.limit else events
    with tempfile.TemporaryDirectory() as tmp:
        targets = [("SQLite", None)] + (
            [("PostgreSQL", args.postgres_url)] if args.postgres_url else []
        )
        for name, url in targets:
            with _instance(Path(tmp) / name, url) as instance:
                seconds = replay(sample, instance)
            per_event = seconds / max(len(sample), 1)
            print(
                f"{name}: {seconds:.1f} s to store {len(sample)} events ({1000 * per_event:.1f} ms "
                f"each): about {per_event * len(events):.0f} s for the run's {len(events)}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
