"""``make pipeline``: one Dagster job, in this process, with a line per step and a summary.

    python -m orchestration.pipeline [--job daily_full_build]

Runs a job of the code location (default ``daily_full_build``: load the landing files, every
dbt model, seed, snapshot and test over all history, the churn model and the revenue forecast,
alerts and the daily report) the way the daemon would, but in this process and without
Dagster's event log on the console: one line when a step starts and one when it ends (assets
materialized, checks passed and failed, seconds), errors in full, and a summary.

What the steps print themselves (dbt's log lines, which dagster-dbt copies to standard output,
and the loaders' per-file lines) goes to ``logs/pipeline_output.log`` (``--output``).

The run is recorded in the Dagster instance of ``$DAGSTER_HOME`` when that is set (SQLite or
PostgreSQL: orchestration/instance.py, docs/deployment.md), so ``make dagster`` shows it;
otherwise in an in-memory instance, which keeps no history and writes no event log to disk.
The exit status is 0 when the run succeeded, 1 otherwise (failed dbt tests of severity
``warn`` are listed but do not fail the run, as with ``dbt build``).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

PROGRESS_LOGGER = "progress"


@dataclass
class StepProgress:
    started: float = 0.0
    materialized: int = 0
    checks_passed: int = 0
    checks_failed: list[str] = field(default_factory=list)


class ProgressHandler(logging.Handler):
    """Turns Dagster's structured events into one line per step, and remembers the totals."""

    def __init__(self, stream=None) -> None:
        super().__init__(level=logging.DEBUG)
        self.stream = stream or sys.stdout
        self.steps: dict[str, StepProgress] = {}
        self.failed_steps: list[str] = []
        self.counts: Counter[str] = Counter()
        self.errors: list[str] = []

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        step = meta.get("step_key") or (event.step_key if event is not None else None)
        if event is None:
            # Plain context.log messages: only warnings and errors reach the console.
            if record.levelno >= logging.WARNING:
                text = meta.get("orig_message") or record.getMessage()
                if record.levelno >= logging.ERROR:
                    self.errors.append(text)
                self._print(f"    {logging.getLevelName(record.levelno).lower()}: {text}")
            return
        kind = event.event_type_value
        progress = self.steps.setdefault(step, StepProgress()) if step else None
        if kind == "STEP_START" and progress is not None:
            progress.started = time.monotonic()
            self._print(f"  {_clock()} {step} ...")
        elif kind == "ASSET_MATERIALIZATION" and progress is not None:
            progress.materialized += 1
            self.counts["materialized"] += 1
        elif kind == "ASSET_CHECK_EVALUATION" and progress is not None:
            evaluation = event.event_specific_data
            if evaluation.passed:
                progress.checks_passed += 1
                self.counts["checks passed"] += 1
            else:
                name = (
                    f"{evaluation.asset_check_key.name} on {evaluation.asset_key.to_user_string()}"
                )
                progress.checks_failed.append(name)
                self.counts["checks failed"] += 1
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE") and progress is not None:
            seconds = time.monotonic() - progress.started if progress.started else 0.0
            status = "done" if kind == "STEP_SUCCESS" else "FAILED"
            checks = f", {progress.checks_passed} checks passed" if progress.checks_passed else ""
            failed = f", {len(progress.checks_failed)} failed" if progress.checks_failed else ""
            self._print(
                f"  {_clock()} {step} {status}: {progress.materialized} assets{checks}{failed}"
                f" ({seconds:.0f} s)"
            )
            if kind == "STEP_FAILURE":
                self.failed_steps.append(step)
                error = event.event_specific_data.error
                if error is not None:
                    self._print(_indent(error.to_string()))
        elif kind == "STEP_SKIPPED" and step:
            self.counts["steps skipped"] += 1


def _clock() -> str:
    return time.strftime("%H:%M:%S")


def _indent(text: str, prefix: str = "      ") -> str:
    return "\n".join(prefix + line for line in text.rstrip().splitlines())


# The handler of the run_job call in progress: the logger Dagster builds for the run writes to
# it, whatever run id Dagster gives the run (one run at a time per process: the warehouse has
# one writer anyway).
_CURRENT: list[ProgressHandler] = []


@dg.logger(description="One line per step and a summary (make pipeline).")
def progress_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = logging.Logger(f"{PROGRESS_LOGGER}.{init_context.run_id}", level=logging.DEBUG)
    logger.addHandler(_CURRENT[-1] if _CURRENT else ProgressHandler())
    return logger


def instance_for_pipeline() -> dg.DagsterInstance:
    """``$DAGSTER_HOME``'s instance when set, else an in-memory one."""
    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


def run_job(
    job_name: str, tags: dict[str, str] | None = None, output: Path | None = None
) -> tuple[bool, ProgressHandler]:
    """Run ``job_name`` in process; (success, the progress it printed). What the steps write
    to standard output goes to ``output`` (appended) when given."""
    from orchestration.definitions import defs

    job = defs.resolve_job_def(job_name)
    handler = ProgressHandler(sys.stdout)
    _CURRENT.append(handler)
    with contextlib.ExitStack() as stack:
        stack.callback(_CURRENT.remove, handler)
        if output is not None:
            output.parent.mkdir(parents=True, exist_ok=True)
            sink = stack.enter_context(output.open("a", encoding="utf-8"))
            stack.enter_context(contextlib.redirect_stdout(sink))
        instance = stack.enter_context(instance_for_pipeline())
        result = job.execute_in_process(
            run_config={"loggers": {PROGRESS_LOGGER: {}}},
            instance=instance,
            tags=tags,
            raise_on_error=False,
        )
    return result.success, handler


def summary(job_name: str, success: bool, handler: ProgressHandler, seconds: float) -> str:
    counts = handler.counts
    lines = [
        f"Dagster job {job_name}: {'succeeded' if success else 'FAILED'} in {seconds:.0f} s; "
        f"{counts['materialized']} assets materialized, {counts['checks passed']} checks passed, "
        f"{counts['checks failed']} failed (dbt tests of severity warn included)."
    ]
    failed_checks = [name for p in handler.steps.values() for name in p.checks_failed]
    if failed_checks:
        shown = failed_checks[:15]
        lines.append("  failed checks: " + "; ".join(shown))
        if len(failed_checks) > len(shown):
            lines.append(
                f"  ... and {len(failed_checks) - len(shown)} more (dagster UI or dbt logs)"
            )
    if handler.failed_steps:
        lines.append("  failed steps: " + ", ".join(handler.failed_steps))
    if counts["steps skipped"]:
        lines.append(f"  {counts['steps skipped']} steps skipped after a failure")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.pipeline", description=__doc__)
    parser.add_argument("--job", default="daily_full_build", help="the job to run")
    parser.add_argument(
        "--partition", help="one daily partition (YYYY-MM-DD); default: the job's own"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=Path("logs/pipeline_output.log"),
        help="where the steps' own output (dbt's log lines) goes (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    tags = None
    if args.partition:
        from orchestration.partitions import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG

        tags = {PARTITION_RANGE_START_TAG: args.partition, PARTITION_RANGE_END_TAG: args.partition}
    started = time.monotonic()
    print(f"{_clock()} loading the Dagster code location (orchestration.definitions)", flush=True)
    # Dagster's own warnings (superseded APIs) and INFO lines are not progress.
    logging.getLogger("dagster").setLevel(logging.WARNING)
    success, handler = run_job(args.job, tags, args.output)
    print(summary(args.job, success, handler, time.monotonic() - started), flush=True)
    print(f"  dbt's and the loaders' own output: {args.output}", flush=True)
    return 0 if success else 1


if __name__ == "__main__":
    # Run as ``python -m``, this file is ``__main__``, while the code location's jobs log through
    # ``orchestration.pipeline.progress_logger``: the imported module's, whose handler list is
    # the one ``run_job`` must fill, or the step lines go to the steps' output file.
    from orchestration.pipeline import main as imported_main

    sys.exit(imported_main())
