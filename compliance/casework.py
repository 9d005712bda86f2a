"""Alert case management: the one validated way to record an analyst's decision on an alert.

An analyst's decision (investigation status, disposition, assignee, note) on a compliance
alert, keyed by its stable ``alert_id`` (marts.fct_compliance_alerts), is appended to the
audit trail ``casework.alert_case_events``: who, when, and every field's value before and
after. dbt never builds or drops that table (it is a source, created when missing by the
on-run-start hook ensure_casework_tables in macros/casework.sql), so decisions survive every
``dbt build`` and ``--full-refresh``; fct_compliance_alerts and rpt_sar_candidates show each
alert's latest decision. Rules (doc block compliance_casework in
models/marts/compliance/_compliance__docs.md):

* statuses: the design document's ``pending`` and ``completed``, with the working states
  ``investigating`` and ``escalated``; the allowed transitions are :data:`TRANSITIONS`;
* ``completed`` needs a disposition (the design document's ``no_action``, ``reported``,
  ``account_flagged``, or ``false_positive``) and a note (the rationale); any other status
  has no disposition; reopening a completed alert (back to ``investigating``) needs a note;
* bad input (unknown alert id, status, disposition, a transition not allowed, nothing to
  record) raises :class:`ReviewError` before anything is written; a decision is one insert in
  one transaction, under the warehouse's single-writer lock (warehouse/locking.py).

The command line (``python -m compliance review|history``) and any other front end go
through :func:`record_decision`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

CASEWORK_TABLE = "casework.alert_case_events"
ALERTS_TABLE = "marts.fct_compliance_alerts"

STATUSES = ("pending", "investigating", "escalated", "completed")
# The design document's compliance_alerts dispositions, and false_positive (issue 17): the
# rule misfired, as opposed to no_action (the activity is real but legitimate).
DISPOSITIONS = ("no_action", "reported", "account_flagged", "false_positive")
# Allowed status changes. Completing closes the alert (it leaves the open queue); reopening
# a completed alert takes it back to investigating, never straight to pending.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "pending": ("investigating", "escalated", "completed"),
    "investigating": ("escalated", "completed"),
    "escalated": ("investigating", "completed"),
    "completed": ("investigating",),
}
CLOSED = "completed"
MAX_NOTE_CHARS = 4000
MAX_NAME_CHARS = 200

COLUMNS = (
    "alert_id",
    "event_number",
    "changed_at",
    "changed_by",
    "status_from",
    "status_to",
    "disposition_from",
    "disposition_to",
    "assignee_from",
    "assignee_to",
    "note",
)


class ReviewError(ValueError):
    """The decision is refused; the message says why. Nothing was written."""


class WarehouseNotReady(RuntimeError):
    """The warehouse cannot take decisions: missing, not built, or locked by a writer."""


@dataclass(frozen=True)
class CaseState:
    status: str
    disposition: str | None
    assignee: str | None


@dataclass(frozen=True)
class Decision:
    """What an analyst asks to record. ``None`` = leave the field as it is."""

    alert_id: str
    changed_by: str
    status: str | None = None
    disposition: str | None = None
    assignee: str | None = None
    unassign: bool = False
    note: str | None = None


def default_reviewer() -> str:
    """Who records a decision when --by is not given: $USER, else the login name."""
    return os.environ.get("USER") or getpass.getuser()


def _clean(value: str | None, what: str, limit: int) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        raise ReviewError(f"{what} is empty: give a value or leave the option out")
    if len(value) > limit:
        raise ReviewError(f"{what} is {len(value)} characters long; at most {limit}")
    return value


def plan(current: CaseState, decision: Decision) -> CaseState:
    """The state after the decision, or :class:`ReviewError`: the whole rule book, no I/O."""
    status = decision.status
    disposition = decision.disposition
    if status is not None and status not in STATUSES:
        raise ReviewError(f"unknown status {status!r}: use one of {', '.join(STATUSES)}")
    if disposition is not None and disposition not in DISPOSITIONS:
        raise ReviewError(
            f"unknown disposition {disposition!r}: use one of {', '.join(DISPOSITIONS)}"
        )
    if decision.unassign and decision.assignee is not None:
        raise ReviewError("give either --assignee or --unassign, not both")
    note = _clean(decision.note, "the note", MAX_NOTE_CHARS)
    assignee = _clean(decision.assignee, "the assignee", MAX_NAME_CHARS)
    if (status, disposition, assignee, note) == (None, None, None, None) and not decision.unassign:
        raise ReviewError(
            "nothing to record: give --status, --disposition, --assignee, --unassign or --note"
        )
    if status is not None:
        if status == current.status:
            raise ReviewError(
                f"alert {decision.alert_id} is already {status}: leave out --status to change "
                "only the assignee or add a note"
            )
        allowed = TRANSITIONS.get(current.status, ())
        if status not in allowed:
            raise ReviewError(
                f"status change {current.status} -> {status} is not allowed for alert "
                f"{decision.alert_id}; from {current.status} it can go to "
                f"{', '.join(allowed) if allowed else 'nothing'}"
            )
    new_status = status or current.status
    if disposition is not None and status != CLOSED:
        if current.status == CLOSED:
            raise ReviewError(
                f"alert {decision.alert_id} is already completed ({current.disposition}): to "
                "change the disposition, reopen it (--status investigating --note ...) and "
                "complete it again"
            )
        raise ReviewError(
            f"a disposition is recorded when completing an alert: add --status {CLOSED}"
        )
    if status == CLOSED:
        if disposition is None:
            raise ReviewError(
                f"completing alert {decision.alert_id} needs --disposition "
                f"({', '.join(DISPOSITIONS)})"
            )
        if note is None:
            raise ReviewError(
                f"completing alert {decision.alert_id} needs --note: the rationale of the "
                "disposition, kept in the audit trail"
            )
    if current.status == CLOSED and status is not None and note is None:
        raise ReviewError(f"reopening alert {decision.alert_id} needs --note: why it is reopened")
    if new_status == CLOSED:
        new_disposition = disposition if status == CLOSED else current.disposition
    else:
        new_disposition = None  # open alerts carry no disposition; reopening clears it
    new_assignee = None if decision.unassign else (assignee or current.assignee)
    return CaseState(new_status, new_disposition, new_assignee)


# ---------------------------------------------------------------------- warehouse access


class _Db:
    """The few queries below on DuckDB or PostgreSQL: ``?`` placeholders, rows as tuples."""

    def __init__(self, con, kind: str):
        self.con = con
        self.kind = kind

    def rows(self, sql: str, params: Sequence = ()) -> list[tuple]:
        if self.kind == "duckdb":
            return self.con.execute(sql, list(params)).fetchall()
        with self.con.cursor() as cur:
            cur.execute(sql.replace("?", "%s"), list(params))
            return cur.fetchall() if cur.description else []

    def table_exists(self, qualified_name: str) -> bool:
        schema, table = qualified_name.split(".")
        (count,) = self.rows(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema, table],
        )[0]
        return bool(count)


def _require_tables(db: _Db) -> None:
    for table, why in (
        (ALERTS_TABLE, "the alerts to review"),
        (CASEWORK_TABLE, "the audit trail (the on-run-start hook creates it)"),
    ):
        if not db.table_exists(table):
            raise WarehouseNotReady(
                f"{table} ({why}) is not in this warehouse: run `make build` (dbt build) first"
            )


def current_state(db: _Db, alert_id: str) -> tuple[CaseState, int]:
    """The alert's state now and the number of decisions recorded on it so far; ReviewError
    when the alert is not in marts.fct_compliance_alerts."""
    alert = db.rows(
        f"select alert_id, investigation_status, disposition from {ALERTS_TABLE} "
        "where alert_id = ?",
        [alert_id],
    )
    if not alert:
        raise ReviewError(
            f"unknown alert id {alert_id!r}: no such alert in {ALERTS_TABLE} "
            "(copy the id from the dashboard's compliance page or the mart)"
        )
    latest = db.rows(
        f"select event_number, status_to, disposition_to, assignee_to from {CASEWORK_TABLE} "
        "where alert_id = ? order by event_number desc limit 1",
        [alert_id],
    )
    if latest:
        number, status, disposition, assignee = latest[0]
        return CaseState(status, disposition, assignee), int(number)
    # No decision yet: the alert's own state (rule alerts start pending; system and security
    # alerts carry their source's). The mart was built before any decision on it.
    _, status, disposition = alert[0]
    return CaseState(status or "pending", disposition, None), 0


@dataclass(frozen=True)
class CaseEvent:
    alert_id: str
    event_number: int
    changed_at: dt.datetime
    changed_by: str
    status_from: str | None
    status_to: str
    disposition_from: str | None
    disposition_to: str | None
    assignee_from: str | None
    assignee_to: str | None
    note: str | None

    def as_dict(self) -> dict:
        return asdict(self)


def _utc_now() -> dt.datetime:
    # Stored as a timestamp without time zone, in UTC, like every time in the warehouse.
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def record_decision(db: _Db, decision: Decision, now: dt.datetime | None = None) -> CaseEvent:
    """Validate the decision against the alert's current state and append it to the audit
    trail, in one transaction. The caller holds the writer's lock (see :func:`open_warehouse`)."""
    changed_by = _clean(decision.changed_by, "the reviewer (--by)", MAX_NAME_CHARS)
    if changed_by is None:
        raise ReviewError("who records the decision is unknown: give --by")
    alert_id = (decision.alert_id or "").strip()
    if not alert_id:
        raise ReviewError("the alert id is empty")
    decision = replace(decision, alert_id=alert_id, changed_by=changed_by)
    _require_tables(db)
    _begin(db)
    try:
        current, events_so_far = current_state(db, alert_id)
        after = plan(current, decision)
        note = _clean(decision.note, "the note", MAX_NOTE_CHARS)
        event = CaseEvent(
            alert_id=alert_id,
            event_number=events_so_far + 1,
            changed_at=now or _utc_now(),
            changed_by=changed_by,
            status_from=current.status,
            status_to=after.status,
            disposition_from=current.disposition,
            disposition_to=after.disposition,
            assignee_from=current.assignee,
            assignee_to=after.assignee,
            note=note,
        )
        db.rows(
            f"insert into {CASEWORK_TABLE} ({', '.join(COLUMNS)}) "
            f"values ({', '.join('?' for _ in COLUMNS)})",
            [getattr(event, c) for c in COLUMNS],
        )
    except BaseException:
        _rollback(db)
        raise
    _commit(db)
    return event


def history(db: _Db, alert_id: str) -> list[CaseEvent]:
    """Every decision recorded on the alert, oldest first (the audit trail). An alert that is
    not in the mart but has decisions (it disappeared after they were recorded) still has its
    history; an id with neither is a ReviewError."""
    _require_tables(db)
    rows = db.rows(
        f"select {', '.join(COLUMNS)} from {CASEWORK_TABLE} "
        "where alert_id = ? order by event_number",
        [alert_id],
    )
    if not rows:
        current_state(db, alert_id)  # unknown id: ReviewError
    return [CaseEvent(*row) for row in rows]


def _begin(db: _Db) -> None:
    if db.kind == "duckdb":
        db.con.execute("begin transaction")
    else:
        # One writer at a time numbers an alert's events (the primary key would refuse a
        # second event with the same number anyway).
        db.rows(f"lock table {CASEWORK_TABLE} in share row exclusive mode")


def _commit(db: _Db) -> None:
    if db.kind == "duckdb":
        db.con.execute("commit")
    else:
        db.con.commit()


def _rollback(db: _Db) -> None:
    with contextlib.suppress(Exception):
        if db.kind == "duckdb":
            db.con.execute("rollback")
        else:
            db.con.rollback()


@contextlib.contextmanager
def open_warehouse(
    warehouse: Path | str | None = None,
    *,
    dsn: str | None = None,
    lock_timeout: float = 60.0,
    read_only: bool = False,
) -> Iterator[_Db]:
    """The warehouse to record decisions in: the DuckDB file (default $EXCHANGE_WAREHOUSE),
    under the single-writer lock the loaders use; or, with ``dsn``, a PostgreSQL warehouse
    built with `dbt build --target postgres`."""
    if dsn:
        from ingestion.postgres.connection import connect, redact

        try:
            con = connect(dsn, application_name="crypto_exchange_casework")
        except Exception as e:  # psycopg2.Error: a message for a person
            raise WarehouseNotReady(f"cannot connect to {redact(dsn)}: {e}".strip()) from None
        try:
            yield _Db(con, "postgres")
        finally:
            con.close()
        return

    from warehouse import Limits, WarehouseLockedError, open_warehouse, settings

    path = Path(warehouse) if warehouse else settings.current().warehouse
    if not path.exists():
        raise WarehouseNotReady(
            f"no warehouse at {path}: run `make pipeline` (or point --warehouse at one)"
        )
    try:
        with open_warehouse(
            path, read_only=read_only, limits=Limits.from_env(lock_timeout=lock_timeout)
        ) as con:
            yield _Db(con, "duckdb")
    except WarehouseLockedError as e:
        raise WarehouseNotReady(str(e)) from None
