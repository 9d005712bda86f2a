"""The alert-flood guard (models/marts/compliance/_compliance__docs.md, "Alert-flood guard"):
each rule's share of the day's active users, measured in fct_compliance_rule_flag_share_daily,
and the warning that names the rule in the dbt tests, the daily report and the webhook.

- On the tiny warehouse the mart agrees with a count made here from the facts.
- A flood (a rule flagging every active user) is a warning-severity dbt test, a WARNING line in
  the daily report and one webhook message per day and rule, sent once.
"""

from __future__ import annotations

import shutil
from collections import defaultdict

import duckdb
import pytest

from orchestration import alerts
from orchestration.assets.report import render_report
from tests.python.conftest import dbt, project_env

FLAG_SHARE = "marts.fct_compliance_rule_flag_share_daily"
CEILING = 0.05  # dbt_project.yml defaults
MIN_ACTIVE_USERS = 100


def test_flag_shares_agree_with_the_facts(tiny_warehouse):
    con = duckdb.connect(str(tiny_warehouse.warehouse), read_only=True)
    active = defaultdict(set)
    for user, day in con.execute("""
        select user_id, cast(occurred_at as date) from staging.stg_exchange__login_events
        union all select user_id, cast(executed_at as date) from marts.fct_trades
        union all select user_id, cast(created_at as date) from marts.fct_transactions
            where transaction_type in ('deposit', 'withdrawal')
    """).fetchall():
        if user is not None:
            active[day].add(user)
    flagged = defaultdict(set)
    for rule, user, day in con.execute("""
        select rule_name, user_id, detected_date from marts.fct_compliance_alerts
        where alert_source = 'rule'
    """).fetchall():
        flagged[(day, rule)].add(user)
    rows = con.execute(
        f"select flag_date, rule_name, active_users, flagged_users, flagged_share_rate, "
        f"is_above_ceiling from {FLAG_SHARE}"
    ).fetchall()
    rules = {
        rule
        for (rule,) in con.execute(
            "select rule_name from reference.compliance_rules where alert_source = 'rule'"
        ).fetchall()
    }
    con.close()

    days = set(active) | {day for day, _ in flagged}
    rules |= {rule for _, rule in flagged}
    assert {(day, rule) for day, rule, *_ in rows} == {(d, r) for d in days for r in rules}
    assert sum(n for *_, n, _, _ in rows) == sum(len(u) for u in flagged.values()) > 0
    for day, rule, n_active, n_flagged, share, above in rows:
        assert n_active == len(active.get(day, ())), (day, rule)
        assert n_flagged == len(flagged.get((day, rule), ())), (day, rule)
        if n_active:
            assert share == pytest.approx(n_flagged / n_active)
        else:
            assert share is None
        assert above == (n_active >= MIN_ACTIVE_USERS and n_flagged / n_active > CEILING)


def test_a_flood_is_a_dbt_warning(tiny_warehouse, tmp_path):
    """With a ceiling of 0 on any day with an active user, every rule that fired is a flood: the
    warning-severity test warns (the build goes on) and the mart names the rules."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(tiny_warehouse.warehouse, warehouse)
    env = project_env(tmp_path, warehouse)
    flood = '{"rule_flag_share_ceiling": 0, "rule_flag_share_min_active_users": 1}'
    result = dbt(
        ["build", "--select", "fct_compliance_rule_flag_share_daily", "--vars", flood], env
    )
    assert "WARN" in result.stdout and "not_is_above_ceiling" in result.stdout
    con = duckdb.connect(str(warehouse), read_only=True)
    above = {
        r
        for (r,) in con.execute(
            f"select distinct rule_name from {FLAG_SHARE} where is_above_ceiling"
        ).fetchall()
    }
    fired = {
        r
        for (r,) in con.execute(
            "select distinct rule_name from marts.fct_compliance_alerts "
            "where alert_source = 'rule' and detected_date in "
            f"(select flag_date from {FLAG_SHARE} where active_users > 0)"
        ).fetchall()
    }
    con.close()
    assert above == fired and "shared_ip" in above


def _flood_warehouse(path) -> None:
    """The shape of the independently generated exchange of issue 25: every active user of the
    last day flagged by shared_ip (a /24 read as one address)."""
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute("""
        create table marts.fct_daily_exchange_kpis as
        select * from (values (date '2026-10-30', 150), (date '2026-10-31', 171))
            as t(kpi_date, active_traders)
    """)
    con.execute(f"""
        create table {FLAG_SHARE} as select * from (values
            (date '2026-10-31', 'shared_ip', 171, 171, 1.0, 0.05, true),
            (date '2026-10-31', 'large_transaction', 171, 2, 2 / 171, 0.05, false),
            (date '2026-10-30', 'self_trade', 150, 9, 0.06, 0.05, true)
        ) as t(flag_date, rule_name, active_users, flagged_users, flagged_share_rate,
               flagged_share_ceiling_rate, is_above_ceiling)
    """)
    con.close()


def test_a_flood_is_named_in_the_daily_report_and_posted_once(tmp_path):
    warehouse = tmp_path / "flood.duckdb"
    _flood_warehouse(warehouse)
    con = duckdb.connect(str(warehouse))
    last_day, markdown = render_report(
        con, "marts.fct_daily_exchange_kpis", None, flag_share_relation=FLAG_SHARE
    )
    assert last_day == "2026-10-31"
    assert "## Rule flag shares on 2026-10-31" in markdown
    assert "WARNING: rule shared_ip flagged 171 of 171 active users (100.0%, ceiling 5.0%)" in (
        markdown
    )
    assert "large_transaction" not in markdown and "self_trade" not in markdown  # other day

    posts = []
    alerts.ensure_sent_alerts(con)
    pending = alerts.pending_flag_share_warnings(con, FLAG_SHARE)
    assert [a.key for a in pending] == [
        "rule_flag_share:2026-10-30:self_trade",
        "rule_flag_share:2026-10-31:shared_ip",
    ]
    assert alerts.send_alerts(con, pending, posts.append) == 2
    text = posts[0]["text"]
    assert "2 rule flag-share warnings" in text
    assert "rule shared_ip flagged 171 of 171 active users on 2026-10-31" in text
    assert alerts.pending_flag_share_warnings(con, FLAG_SHARE) == []  # each warning once
    con.close()


def test_a_quiet_day_says_so(tmp_path):
    warehouse = tmp_path / "quiet.duckdb"
    _flood_warehouse(warehouse)
    con = duckdb.connect(str(warehouse))
    con.execute(f"update {FLAG_SHARE} set is_above_ceiling = false")
    _, markdown = render_report(
        con, "marts.fct_daily_exchange_kpis", None, flag_share_relation=FLAG_SHARE
    )
    assert "No rule flagged more than its ceiling share" in markdown
    assert alerts.pending_flag_share_warnings(con, "marts.no_such_mart") == []
    con.close()
