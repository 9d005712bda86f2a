"""Alert case management (issue 17 item 6) on a private copy of the tiny warehouse.

- The rule book (compliance/casework.py): every status change is allowed exactly when
  TRANSITIONS says so; completing needs a disposition and a note; reopening needs a note; a
  disposition is only set when completing.
- `python -m compliance review` records decisions in casework.alert_case_events, and refuses
  bad input (unknown alert id, status or disposition, a transition that is not allowed) with a
  clear message, exit code 2 and nothing written.
- The decisions survive `dbt build` and `dbt build --full-refresh`: the audit trail is
  byte-for-byte the same rows, and fct_compliance_alerts, rpt_sar_candidates and the
  dashboard's queries show each alert's latest decision; an alert closed as a false positive
  leaves the open queue (and the open SAR candidates) and stays in the audit trail.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import shutil
import subprocess
import sys

import duckdb
import pytest

from compliance import casework
from dashboard import queries
from orchestration.dbt_args import EXCLUDE_UNIT_TESTS
from tests.python.conftest import REPO, dbt, project_env

# ---------------------------------------------------------------------- the rule book


def state(status, disposition=None, assignee=None):
    return casework.CaseState(status, disposition, assignee)


def decide(**kwargs):
    return casework.Decision(alert_id="a1", changed_by="ana", **kwargs)


def test_every_status_change_is_allowed_exactly_when_the_transitions_say_so():
    for before, after in itertools.product(casework.STATUSES, repeat=2):
        current = state(before, "no_action" if before == "completed" else None)
        decision = decide(
            status=after,
            disposition="no_action" if after == "completed" else None,
            note="why",
        )
        if after in casework.TRANSITIONS[before]:
            new = casework.plan(current, decision)
            assert new.status == after
            assert new.disposition == ("no_action" if after == "completed" else None)
        else:
            with pytest.raises(casework.ReviewError, match="not allowed|already"):
                casework.plan(current, decision)
    # Every status can be left, and completed alerts can be reopened.
    assert all(casework.TRANSITIONS[s] for s in casework.STATUSES)
    assert "investigating" in casework.TRANSITIONS["completed"]


def test_completing_needs_a_disposition_and_a_note_and_reopening_clears_it():
    pending = state("pending", assignee="bo")
    with pytest.raises(casework.ReviewError, match="needs --disposition"):
        casework.plan(pending, decide(status="completed", note="x"))
    with pytest.raises(casework.ReviewError, match="needs --note"):
        casework.plan(pending, decide(status="completed", disposition="false_positive"))
    with pytest.raises(casework.ReviewError, match="unknown disposition 'fp'"):
        casework.plan(pending, decide(status="completed", disposition="fp", note="x"))
    with pytest.raises(casework.ReviewError, match="unknown status 'closed'"):
        casework.plan(pending, decide(status="closed"))
    with pytest.raises(casework.ReviewError, match="add --status completed"):
        casework.plan(pending, decide(disposition="reported"))
    with pytest.raises(casework.ReviewError, match="nothing to record"):
        casework.plan(pending, decide())
    with pytest.raises(casework.ReviewError, match="note is empty"):
        casework.plan(pending, decide(note="   "))
    closed = casework.plan(
        pending, decide(status="completed", disposition="false_positive", note="misfire")
    )
    assert closed == state("completed", "false_positive", "bo")  # the assignee is kept
    # A closed alert's disposition changes only by reopening it, which needs a note.
    with pytest.raises(casework.ReviewError, match="reopen it"):
        casework.plan(closed, decide(disposition="reported"))
    with pytest.raises(casework.ReviewError, match="reopening .* needs --note"):
        casework.plan(closed, decide(status="investigating"))
    reopened = casework.plan(closed, decide(status="investigating", note="new evidence"))
    assert reopened == state("investigating", None, "bo")
    # A note or an assignee alone is a decision too; --unassign clears the assignee.
    assert casework.plan(closed, decide(note="checked again")) == closed
    assert casework.plan(reopened, decide(unassign=True)).assignee is None
    assert casework.plan(reopened, decide(assignee="cy")).assignee == "cy"


def test_the_docs_state_the_transitions_and_dispositions_the_code_enforces():
    docs = (REPO / "models/marts/compliance/_compliance__docs.md").read_text()
    block = docs.split("{% docs compliance_casework %}")[1].split("{% enddocs %}")[0]
    table = {
        m.group(1): tuple(t.strip() for t in re.sub(r"\(.*\)", "", m.group(2)).split(","))
        for m in re.finditer(r"^\| (\w+) \| ([a-z, ]+(?:\(.*\))?) \|$", block, re.MULTILINE)
    }
    table.pop("from")  # the header row
    assert table == casework.TRANSITIONS
    for disposition in casework.DISPOSITIONS:
        assert f"`{disposition}`" in block
    page = (REPO / "docs/casework.md").read_text()
    arrows = re.findall(r"^    (\w+) --> (\w+)", page, re.MULTILINE)
    assert sorted(arrows) == sorted(
        (before, after) for before, targets in casework.TRANSITIONS.items() for after in targets
    )


# ---------------------------------------------------------------------- on the warehouse


@pytest.fixture(scope="module")
def warehouse(tiny_warehouse, tmp_path_factory):
    """A private copy of the tiny warehouse (decisions and dbt builds write to it)."""
    root = tmp_path_factory.mktemp("casework")
    path = root / "warehouse.duckdb"
    shutil.copyfile(tiny_warehouse.warehouse, path)
    return path, project_env(root, path)


def review(env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "compliance", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )


def rows(path, sql: str, params=None) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def trail(path) -> list[tuple]:
    return rows(path, "select * from casework.alert_case_events order by alert_id, event_number")


def pick_alerts(path) -> tuple[str, str, str]:
    """Three pending rule alerts that are SAR candidates, and one completed system alert."""
    candidates = [
        r[0]
        for r in rows(
            path,
            "select alert_id from marts.fct_compliance_alerts where alert_source = 'rule' "
            "and is_sar_candidate and investigation_status = 'pending' order by alert_id",
        )
    ]
    assert len(candidates) >= 2, "the tiny scale has too few SAR candidates"
    (completed,) = rows(
        path,
        "select alert_id from marts.fct_compliance_alerts where alert_source = 'system' "
        "and investigation_status = 'completed' order by alert_id limit 1",
    )[0]
    return candidates[0], candidates[1], completed


def test_bad_input_is_refused_with_a_clear_message_and_writes_nothing(warehouse):
    path, env = warehouse
    alert, _, completed = pick_alerts(path)
    before = trail(path)
    cases = [
        (
            ["review", "no-such-alert", "--status", "investigating"],
            "unknown alert id 'no-such-alert'",
        ),
        (["review", alert, "--status", "closed"], "unknown status 'closed'"),
        (
            ["review", alert, "--status", "completed", "--disposition", "fine", "--note", "x"],
            "unknown disposition 'fine'",
        ),
        # A system alert completed at the source can be reopened, never escalated directly.
        (["review", completed, "--status", "escalated"], "completed -> escalated is not allowed"),
        (["review", alert, "--status", "pending"], "is already pending"),
        (["review", alert, "--status", "completed", "--disposition", "no_action"], "needs --note"),
        (["review", alert, "--by", " ", "--note", "x"], "reviewer (--by) is empty"),
    ]
    for args, message in cases:
        result = review(env, *args, "--by", "ana") if "--by" not in args else review(env, *args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert "Nothing was recorded" in result.stderr
        assert "Traceback" not in result.stderr
    assert trail(path) == before
    result = review(env, "history", "no-such-alert")
    assert result.returncode == 2 and "unknown alert id" in result.stderr


def render_compliance_page(path, monkeypatch):
    """The dashboard's compliance page over the whole data window, headless (Streamlit's
    AppTest): its metrics, the open queue's alert ids, and the table with completed alerts."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("EXCHANGE_WAREHOUSE", str(path))

    def page():
        import datetime as dt

        from dashboard import views

        views.compliance(
            views.Filters(start_date=dt.date(1970, 1, 1), end_date=dt.date(2999, 12, 31))
        )

    app = AppTest.from_function(page, default_timeout=120)
    app.run()
    assert not app.exception, app.exception
    metrics = {m.label: m.value for m in app.metric}
    queue = set(app.dataframe[0].value.alert_id)
    app.toggle[0].set_value(True).run()
    assert not app.exception, app.exception
    return metrics, queue, app.dataframe[0].value


def test_decisions_survive_builds_and_full_refresh_and_show_in_the_marts(warehouse, monkeypatch):
    path, env = warehouse
    false_positive, escalated, completed = pick_alerts(path)
    steps = [
        (false_positive, ["--status", "investigating", "--assignee", "ana", "--by", "lead"]),
        (
            false_positive,
            [
                "--status",
                "completed",
                "--disposition",
                "false_positive",
                "--by",
                "ana",
                "--note",
                "the counterparty is the exchange's own market maker",
            ],
        ),
        (
            escalated,
            [
                "--status",
                "escalated",
                "--assignee",
                "bo",
                "--by",
                "bo",
                "--note",
                "funds moved on within the hour",
            ],
        ),
        (escalated, ["--note", "asked the bank for statements", "--by", "bo"]),
        (completed, ["--status", "investigating", "--by", "lead", "--note", "customer complaint"]),
    ]
    for alert, args in steps:
        result = review(env, "review", alert, *args, "--json")
        assert result.returncode == 0, result.stderr
    recorded = trail(path)
    assert len(recorded) == len(steps)
    by_alert = {}
    for row in recorded:
        by_alert.setdefault(row[0], []).append(row)
    # who, when, from and to: the false positive's two decisions
    fp = by_alert[false_positive]
    assert [r[1] for r in fp] == [1, 2]
    assert [(r[3], r[4], r[5], r[6], r[7]) for r in fp] == [
        ("lead", "pending", "investigating", None, None),
        ("ana", "investigating", "completed", None, "false_positive"),
    ]
    assert fp[0][9] == "ana" and fp[1][8] == "ana" and fp[1][9] == "ana"
    assert all(r[2] is not None for r in recorded)
    # The reopened system alert starts from its source state: completed with its disposition.
    (reopen,) = by_alert[completed]
    assert reopen[4:8] == ("completed", "investigating", reopen[6], None)
    assert reopen[6] is not None

    history = review(env, "history", false_positive, "--json")
    assert history.returncode == 0, history.stderr
    assert [e["status_to"] for e in json.loads(history.stdout)] == ["investigating", "completed"]

    for command in (["build"], ["build", "--full-refresh"]):
        dbt([*command, *EXCLUDE_UNIT_TESTS], env)
        assert trail(path) == recorded, f"dbt {' '.join(command)} changed the audit trail"
        shown = {
            r[0]: r[1:]
            for r in rows(
                path,
                "select alert_id, investigation_status, disposition, assignee, case_note, "
                "reviewed_by, case_event_count, is_open from marts.fct_compliance_alerts "
                "where alert_id in (?, ?, ?)",
                [false_positive, escalated, completed],
            )
        }
        assert shown[false_positive] == (
            "completed",
            "false_positive",
            "ana",
            "the counterparty is the exchange's own market maker",
            "ana",
            2,
            False,
        )
        assert shown[escalated] == (
            "escalated",
            None,
            "bo",
            "asked the bank for statements",
            "bo",
            2,
            True,
        )
        assert shown[completed] == (
            "investigating",
            None,
            None,
            "customer complaint",
            "lead",
            1,
            True,
        )
        sar = {
            r[0]: r[1:]
            for r in rows(
                path,
                "select alert_id, investigation_status, disposition, assignee, is_open, "
                "is_overdue, days_until_due, due_date - as_of_date from marts.rpt_sar_candidates "
                "where alert_id in (?, ?)",
                [false_positive, escalated],
            )
        }
        assert sar[false_positive][:5] == ("completed", "false_positive", "ana", False, False)
        assert sar[escalated][:4] == ("escalated", None, "bo", True)
        for alert in (false_positive, escalated):
            assert sar[alert][5] == sar[alert][6]  # days to the filing deadline
        # The open queue (dashboard and the analysis of open SAR candidates) leaves the false
        # positive out; the full list keeps it with its state.
        with queries.connect(path) as con:
            params = queries.default_params(con) | {
                "start_date": dt.date(1970, 1, 1),
                "end_date": dt.date(2999, 12, 31),
            }
            queue = queries.run(con, "compliance_open_queue", params)
            every = queries.run(con, "compliance_alerts", params)
        assert false_positive not in set(queue.alert_id)
        assert {escalated, completed} <= set(queue.alert_id)
        assert set(queue.alert_id) == set(every[every.is_open].alert_id)
        closed = every[every.alert_id == false_positive].iloc[0]
        assert (closed.investigation_status, closed.disposition) == ("completed", "false_positive")
    # The dashboard page: the false positive has left the open queue; with completed alerts
    # included it is listed, completed, with its disposition.
    metrics, queue, everything = render_compliance_page(path, monkeypatch)
    (open_count,) = rows(path, "select count(*) from marts.fct_compliance_alerts where is_open")[0]
    assert metrics["Open"] == f"{open_count:,}"
    assert false_positive not in queue and {escalated, completed} <= queue
    closed = everything[everything.alert_id == false_positive].iloc[0]
    assert (closed.investigation_status, closed.disposition) == ("completed", "false_positive")
    # The false positive stays in the audit trail after both builds.
    history = review(env, "history", false_positive)
    assert history.returncode == 0 and "false_positive" in history.stdout


def test_the_review_command_waits_for_a_writer_and_then_says_so(warehouse):
    path, env = warehouse
    alert, _, _ = pick_alerts(path)
    before = trail(path)
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('locked', "
            "flush=True); time.sleep(30)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "locked"
        result = review(env, "review", alert, "--note", "x", "--by", "ana", "--lock-timeout", "1")
    finally:
        writer.kill()
        writer.wait()
    assert result.returncode == 2
    assert "DuckDB allows one writer per file" in result.stderr
    assert trail(path) == before


# ---------------------------------------------------------------------- on PostgreSQL


@pytest.mark.postgres
def test_decisions_on_a_postgresql_warehouse(postgres_database, tmp_path):
    """The same command with --dsn: the table dbt's hook creates on PostgreSQL, a stand-in for
    the alerts mart (the whole project on PostgreSQL is test_postgres_dbt.py's)."""
    import psycopg2

    from tests.python.conftest import BIN
    from tests.python.test_postgres_dbt import dbt_postgres_env

    env = dbt_postgres_env(postgres_database, tmp_path, None)

    def ensure_table() -> None:
        result = subprocess.run(
            [str(BIN / "dbt"), "run-operation", "ensure_casework_tables"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr

    def pg_rows(sql: str) -> list[tuple]:
        con = psycopg2.connect(postgres_database)
        try:
            with con, con.cursor() as cur:
                cur.execute(sql)
                return cur.fetchall() if cur.description else []
        finally:
            con.close()

    ensure_table()
    pg_rows(
        "create schema marts; create table marts.fct_compliance_alerts "
        "(alert_id text, investigation_status text, disposition text); "
        "insert into marts.fct_compliance_alerts values "
        "('r1', 'pending', null), ('s1', 'completed', 'reported')"
    )
    dsn = ["--dsn", postgres_database, "--by", "ana"]
    ok = review(
        env,
        "review",
        "r1",
        *dsn,
        "--status",
        "completed",
        "--disposition",
        "false_positive",
        "--note",
        "misfire",
    )
    assert ok.returncode == 0, ok.stderr
    for args, message in (
        (["r9", "--status", "investigating"], "unknown alert id 'r9'"),
        (["s1", "--status", "escalated"], "completed -> escalated is not allowed"),
        (
            ["s1", "--status", "investigating", "--note", "x", "--disposition", "bad"],
            "unknown disposition 'bad'",
        ),
    ):
        refused = review(env, "review", *args, *dsn)
        assert refused.returncode == 2 and message in refused.stderr, refused.stderr
    ensure_table()  # finds the table and leaves it alone
    assert pg_rows(
        "select alert_id, event_number, changed_by, status_from, status_to, "
        "disposition_from, disposition_to, note from casework.alert_case_events"
    ) == [("r1", 1, "ana", "pending", "completed", None, "false_positive", "misfire")]
    history = review(env, "history", "r1", "--dsn", postgres_database, "--json")
    assert history.returncode == 0, history.stderr
    assert [e["disposition_to"] for e in json.loads(history.stdout)] == ["false_positive"]
