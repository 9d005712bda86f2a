"""Command line of alert case management.

    python -m compliance review ALERT_ID [--status S] [--disposition D] [--assignee NAME |
        --unassign] [--note TEXT] [--by NAME] [--warehouse FILE | --dsn DSN]
        Record one decision on the alert (marts.fct_compliance_alerts.alert_id) in the audit
        trail casework.alert_case_events. Statuses: pending, investigating, escalated,
        completed; completing needs --disposition (no_action, reported, account_flagged,
        false_positive) and --note. The marts show it after the next `dbt build`.

    python -m compliance history ALERT_ID [--json] [--warehouse FILE | --dsn DSN]
        Print every decision recorded on the alert, oldest first.

The DuckDB warehouse is --warehouse, else $EXCHANGE_WAREHOUSE (default data/warehouse.duckdb);
--dsn (or $EXCHANGE_CASEWORK_DSN) names a PostgreSQL warehouse instead. Who records a
decision: --by, else $USER. Exit codes: 0 recorded (or printed), 2 refused (bad input, unknown
alert, a transition that is not allowed; nothing written) or the warehouse cannot be used.
"""

from __future__ import annotations

import argparse
import json
import sys

from warehouse import settings

from . import casework

DSN_ENV = "EXCHANGE_CASEWORK_DSN"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m compliance",
        description="Record and read analysts' decisions on compliance alerts.",
    )
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--warehouse", help="DuckDB file (default $EXCHANGE_WAREHOUSE)")
    where.add_argument(
        "--dsn",
        default=settings.current().casework_dsn,
        help=f"a PostgreSQL warehouse instead (default ${DSN_ENV})",
    )
    where.add_argument(
        "--lock-timeout",
        type=float,
        default=60.0,
        help="seconds to wait for another writer (a load, a dbt build) to finish (default 60)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    review = commands.add_parser("review", parents=[where], help="record a decision on an alert")
    review.add_argument("alert_id", help="the alert (marts.fct_compliance_alerts.alert_id)")
    review.add_argument("--status", help=f"new status: {', '.join(casework.STATUSES)}")
    review.add_argument(
        "--disposition", help=f"with --status completed: {', '.join(casework.DISPOSITIONS)}"
    )
    review.add_argument("--assignee", help="assign the alert to this analyst")
    review.add_argument("--unassign", action="store_true", help="remove the assignee")
    review.add_argument("--note", help="the analyst's note (required to complete or reopen)")
    review.add_argument("--by", help="who records the decision (default $USER)")
    review.add_argument("--json", action="store_true", help="print the recorded event as JSON")

    hist = commands.add_parser(
        "history", parents=[where], help="print the decisions recorded on an alert"
    )
    hist.add_argument("alert_id")
    hist.add_argument("--json", action="store_true", help="JSON instead of a table")
    return parser


def _fail(message: str) -> int:
    print(f"compliance: error: {message}", file=sys.stderr)
    return 2


def _arrow(before, after) -> str:
    return f"{before or '-'} -> {after or '-'}" if before != after else f"{after or '-'}"


def _review(args: argparse.Namespace) -> int:
    decision = casework.Decision(
        alert_id=args.alert_id,
        changed_by=args.by if args.by is not None else casework.default_reviewer(),
        status=args.status,
        disposition=args.disposition,
        assignee=args.assignee,
        unassign=args.unassign,
        note=args.note,
    )
    with casework.open_warehouse(
        args.warehouse, dsn=args.dsn, lock_timeout=args.lock_timeout
    ) as db:
        event = casework.record_decision(db, decision)
    if args.json:
        print(json.dumps(event.as_dict(), default=str))
    else:
        print(
            f"alert {event.alert_id}: decision {event.event_number} recorded by "
            f"{event.changed_by} at {event.changed_at:%Y-%m-%d %H:%M:%S} UTC; "
            f"status {_arrow(event.status_from, event.status_to)}, "
            f"disposition {_arrow(event.disposition_from, event.disposition_to)}, "
            f"assignee {_arrow(event.assignee_from, event.assignee_to)}. "
            "The marts show it after the next dbt build."
        )
    return 0


def _history(args: argparse.Namespace) -> int:
    with casework.open_warehouse(args.warehouse, dsn=args.dsn, read_only=True) as db:
        events = casework.history(db, args.alert_id.strip())
    if args.json:
        print(json.dumps([e.as_dict() for e in events], default=str, indent=2))
        return 0
    if not events:
        print(f"alert {args.alert_id}: no decision recorded yet")
        return 0
    for e in events:
        print(
            f"{e.event_number:>3}  {e.changed_at:%Y-%m-%d %H:%M:%S}  {e.changed_by}  "
            f"status {_arrow(e.status_from, e.status_to)}  "
            f"disposition {_arrow(e.disposition_from, e.disposition_to)}  "
            f"assignee {_arrow(e.assignee_from, e.assignee_to)}"
            + (f"\n     note: {e.note}" if e.note else "")
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _review(args) if args.command == "review" else _history(args)
    except casework.ReviewError as e:
        return _fail(f"{e}. Nothing was recorded." if args.command == "review" else str(e))
    except casework.WarehouseNotReady as e:
        return _fail(str(e))
