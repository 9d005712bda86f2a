"""Every model's SQL is valid for BigQuery, checked offline (tooling/bigquery_check.py).

The rules are shown on hand-written SQL first (fast), then the whole project is compiled with
the real dbt-bigquery adapter and checked, and a temporary copy of the project with one planted
DuckDB-only model shows that the check fails on it.
"""

from __future__ import annotations

import shutil

import pytest

from tooling.bigquery_check import REPO, check_project, check_sql, check_types

# --------------------------------------------------------------------------------------
# the SQL rules, one by one


@pytest.mark.parametrize(
    ("sql", "rule"),
    [
        ("select amount::double as x from t", "cast-syntax"),
        ("select cast(amount as double) as x from t", "cast-type"),
        ("select cast(name as varchar) as x from t", "cast-type"),
        ("select try_cast(amount as int64) as x from t", "function"),
        ("select list_value(1, 2) as x", "function"),
        ("select median(x) as m from t", "function"),
        ("select datediff('day', a, b) as d from t", "function"),
        ("select * from unnest(generate_series(1, 3))", "function"),
        ("select date_trunc('day', created_at) as d from t", "date-part-order"),
        ("select created_at + interval '1 day' as d from t", "interval-literal"),
        ("select count(*) filter (where x > 0) as n from t", "aggregate-filter"),
        ("select percentile_cont(0.5) within group (order by x) as m from t", "within-group"),
        ("select distinct on (a) a, b from t", "distinct-on"),
        ("select a from t union select a from u", "set-operation"),
        ("select * exclude (a) from t", "select-exclude"),
        ("select a from t where a ilike 'x%'", "ilike"),
        ('select "timestamp" as opened_at from t', "double-quoted-identifier"),
        ("select i from range(3) as r(i)", "alias-column-list"),
        ("select a at time zone 'UTC' as b from t", "at-time-zone"),
    ],
)
def test_each_rule_catches_its_construct(sql, rule):
    assert rule in {f.rule for f in check_sql(sql)}, check_sql(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "select cast(a as float64) as x, safe_cast(b as int64) as y from `p`.`d`.`t`",
        "select timestamp_trunc(cast(a as timestamp), isoweek) as w from t",
        "select a, row_number() over (partition by b order by c desc nulls last) as r from t "
        "qualify r = 1",
        "select countif(x > 0) as n, approx_quantiles(y, 1000)[offset(950)] as p95 from t",
        "select a from t union all select a from u union distinct select a from v",
        "select * except (a) from t",
        "select datetime_add(cast(a as datetime), interval -2 hour) as x from t",
        "select spine_at from b, unnest(generate_timestamp_array(s, e, interval 1 hour)) as t",
        "select net.ip_to_string(net.ip_trunc(net.safe_ip_from_string(ip), 24)) as n from t",
        "select a is distinct from b as changed, 1e-08 as tolerance, x - (y + z) as d from t",
    ],
)
def test_valid_bigquery_passes(sql):
    assert check_sql(sql) == []


def test_types_catch_timestamp_against_datetime():
    """dbt-bigquery's own dateadd returns DATETIME while date_trunc and the raw timestamps are
    TIMESTAMP: the comparison incremental_window() makes would fail on BigQuery. (The project
    overrides dateadd in macros/bigquery_dates.sql; this is the check seeing the difference.)"""
    relations = {
        "source.p.exchange.trades": {
            "resource_type": "source",
            "database": "p",
            "schema": "raw",
            "name": "trades",
            "source_table": "trades",
            "depends_on": [],
        },
    }
    node = {
        "original_file_path": "models/x.sql",
        "compiled_code": "select trade_id from `p`.`raw`.`trades` where _loaded_at > "
        "(select datetime_add(cast(max(_loaded_at) as datetime), interval -2 hour) "
        "from `p`.`raw`.`trades`)",
    }
    fixed = dict(
        node,
        compiled_code=node["compiled_code"].replace(
            "datetime_add(cast(max(_loaded_at) as datetime), interval -2 hour)",
            "cast(datetime_add(cast(max(_loaded_at) as datetime), interval -2 hour) as timestamp)",
        ),
    )
    found = check_types({"model.p.x": node}, relations)
    assert [f.rule for f in found.findings] == ["types"]
    assert "TIMESTAMP with DATETIME" in found.findings[0].message
    assert check_types({"model.p.x": fixed}, relations).findings == []


# --------------------------------------------------------------------------------------
# the project


@pytest.mark.slow
def test_every_model_is_valid_bigquery():
    report = check_project(REPO)
    assert report.nodes_by_mode.get("first build", 0) > 100
    assert report.nodes_by_mode.get("incremental", 0) >= 4  # the incremental branches too
    assert report.nodes_type_checked >= 0.95 * report.nodes_checked, report.not_type_checked
    assert report.ok, "\n" + report.render()


PLANTED = """
-- A model written for DuckDB only: every line below is refused by BigQuery.
with trades as (
    select * from {{ source('exchange', 'trades') }}
)
select
    trade_id,
    quantity::double as quantity_double,
    try_cast(price as decimal(20, 8)) as price_checked,
    list_value(side, fee_asset) as labels,
    executed_at + interval '1 day' as next_day,
    "executed_at" as quoted_column,
    _loaded_at > cast(executed_at as datetime) as mixes_timestamp_and_datetime
from trades
"""


@pytest.mark.slow
def test_the_check_fails_on_a_duckdb_only_model(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(REPO / name, project / name)
    for folder in ("macros", "models", "seeds", "snapshots", "tests", "analyses"):
        if (REPO / folder).is_dir():
            shutil.copytree(
                REPO / folder,
                project / folder,
                ignore=shutil.ignore_patterns("python", "__pycache__"),
            )
    planted = project / "models" / "marts" / "zz_planted_duckdb_only.sql"
    planted.write_text(PLANTED)
    report = check_project(project, select=["zz_planted_duckdb_only"])
    assert not report.ok
    mine = [f for f in report.findings if f.path.endswith("zz_planted_duckdb_only.sql")]
    rules = {f.rule for f in mine}
    assert {
        "cast-syntax",
        "function",
        "interval-literal",
        "double-quoted-identifier",
        "types",
    } <= rules, report.render()
    functions = " ".join(f.message for f in mine if f.rule == "function")
    assert "try_cast" in functions and "list_value" in functions
    assert all(f.path.endswith("zz_planted_duckdb_only.sql") for f in report.findings), (
        report.render()
    )
