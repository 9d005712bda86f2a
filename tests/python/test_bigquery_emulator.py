"""BigQuery through its real client libraries, against the emulator (bigquery_emulator.py).

1. The BigQuery loader (ingestion/bigquery): the tiny landing files into the emulator's ``raw``
   dataset with Parquet load jobs; the same rows and quarantine as the DuckDB loader; a re-run
   loads nothing; a failed load job records nothing and the next run loads the files once.
2. ``dbt build --target bigquery_emulator``: seeds, snapshots, every model and test through
   dbt-bigquery, but those on the allow-list (tests/python/bigquery_emulator_allowlist.yml, each
   with its reason); every mart equals DuckDB's.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest
import yaml

from ingestion.bigquery import BigQueryLoadError, bigquery_client, load_landing_bigquery
from ingestion.bigquery import loader as bq_loader
from ingestion.contract import TABLES

from .bigquery_emulator import PROJECT, bigquery_emulator  # noqa: F401 - the fixture
from .conftest import BIN, REPO
from .test_postgres_dbt import PII_KEY, RUN_DEPENDENT_MARTS, same_rows, sort_key

pytestmark = pytest.mark.bigquery

ALLOWLIST = yaml.safe_load((Path(__file__).parent / "bigquery_emulator_allowlist.yml").read_text())


def _counts(client, dataset: str) -> dict[str, int]:
    return {
        t: next(iter(client.query(f"select count(*) from `{dataset}`.`{t}`").result()))[0]
        for t in TABLES
    }


def _duck_counts(warehouse: Path) -> tuple[dict[str, int], int, dict[str, int]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = {t: con.execute(f'select count(*) from raw."{t}"').fetchone()[0] for t in TABLES}
        quarantined = con.execute("select count(*) from raw._quarantine").fetchone()[0]
        files = dict(
            con.execute(
                "select table_name, count(*) from raw._loaded_files where status = 'loaded' "
                "group by 1"
            ).fetchall()
        )
    finally:
        con.close()
    return rows, quarantined, files


@pytest.fixture(scope="module")
def bq_raw(bigquery_emulator, tiny_warehouse, tmp_path_factory):  # noqa: F811
    """The tiny landing files loaded into the emulator's ``raw`` dataset by the BigQuery loader."""
    landing = tmp_path_factory.mktemp("bq_landing") / "landing"
    shutil.copytree(tiny_warehouse.landing, landing)
    client = bigquery_client()
    reports = load_landing_bigquery(client, landing)
    return client, landing, reports


# --------------------------------------------------------------------------------------
# the loader


def test_loader_loads_the_same_rows_and_quarantine_as_duckdb(bq_raw, tiny_warehouse):
    client, _, reports = bq_raw
    rows, quarantined, files = _duck_counts(tiny_warehouse.warehouse)
    assert _counts(client, "raw") == rows
    assert sum(r.rows_loaded for r in reports) == sum(rows.values())
    assert next(iter(client.query("select count(*) from raw._quarantine").result()))[0] == (
        quarantined
    )
    assert quarantined > 0  # the tiny scale plants bad records
    loaded = dict(
        (r[0], r[1])
        for r in client.query(
            "select table_name, count(*) from raw._loaded_files where status = 'loaded' group by 1"
        ).result()
    )
    assert loaded == files
    # timestamps arrive as TIMESTAMP (UTC instants), decimals as NUMERIC
    schema = {f.name: f.field_type for f in client.get_table("raw.trades").schema}
    assert schema["executed_at"] == "TIMESTAMP" and schema["price"] == "NUMERIC"


def test_loader_rerun_loads_nothing_twice(bq_raw):
    client, landing, _ = bq_raw
    before = _counts(client, "raw")
    again = load_landing_bigquery(client, landing)
    assert sum(len(r.files_sent) for r in again) == 0
    assert sum(r.files_skipped for r in again) > 0
    assert _counts(client, "raw") == before


def test_a_failed_load_job_records_nothing_and_the_next_run_loads_once(
    bigquery_emulator,  # noqa: F811
    tiny_warehouse,
    tmp_path,
    monkeypatch,
):
    client = bigquery_client()
    landing = tmp_path / "landing"
    shutil.copytree(tiny_warehouse.landing / "trades", landing / "trades")
    expected, _, _ = _duck_counts(tiny_warehouse.warehouse)
    dataset = "raw_failures"
    real_load = bq_loader._Dataset.load_parquet

    def corrupt(target: str):
        def load(self, table, path):
            if table == target:
                Path(path).write_bytes(b"PAR1 this is not a parquet file")
            return real_load(self, table, path)

        return load

    # 1. the rows' load job fails on the server: nothing of the table, no record
    monkeypatch.setattr(bq_loader._Dataset, "load_parquet", corrupt("trades"))
    with pytest.raises(BigQueryLoadError, match="trades"):
        load_landing_bigquery(client, landing, ["trades"], dataset=dataset)
    count = f"select count(*) from `{dataset}`.`%s`"
    assert next(iter(client.query(count % "trades").result()))[0] == 0
    assert next(iter(client.query(count % "_loaded_files").result()))[0] == 0

    # 2. the rows load but the records' load job fails: rows without a record
    monkeypatch.setattr(bq_loader._Dataset, "load_parquet", corrupt("_loaded_files"))
    with pytest.raises(BigQueryLoadError, match="trades"):
        load_landing_bigquery(client, landing, ["trades"], dataset=dataset)
    assert next(iter(client.query(count % "trades").result()))[0] == expected["trades"]
    assert next(iter(client.query(count % "_loaded_files").result()))[0] == 0

    # 3. the next run replaces those rows and records the files: every row once
    monkeypatch.setattr(bq_loader._Dataset, "load_parquet", real_load)
    (report,) = load_landing_bigquery(client, landing, ["trades"], dataset=dataset)
    assert report.files_sent and report.rows_loaded == expected["trades"]
    assert next(iter(client.query(count % "trades").result()))[0] == expected["trades"]
    # no record of the file loaded twice (the landing replays some fills: count provenance)
    distinct = next(
        iter(
            client.query(
                "select count(distinct concat(_source_file, ':', cast(_row_number as string))) "
                f"from `{dataset}`.trades"
            ).result()
        )
    )[0]
    assert distinct == expected["trades"]
    # the same quarantine as the DuckDB loader's for these files (none lost, none doubled)
    duck = duckdb.connect(str(tiny_warehouse.warehouse), read_only=True)
    try:
        quarantined = duck.execute(
            "select count(*) from raw._quarantine where table_name = 'trades'"
        ).fetchone()[0]
    finally:
        duck.close()
    assert next(iter(client.query(count % "_quarantine").result()))[0] == quarantined
    (again,) = load_landing_bigquery(client, landing, ["trades"], dataset=dataset)
    assert again.files_sent == []


def test_dagster_assets_load_with_the_dbt_source_keys(bq_raw, tmp_path):
    import dagster as dg

    from orchestration.assets.bigquery_landing import (
        BigQueryResource,
        bigquery_landing_tables,
    )
    from orchestration.assets.landing import TABLE_KEYS
    from orchestration.resources import LandingResource

    _, landing, _ = bq_raw
    assert set(bigquery_landing_tables.keys) == set(TABLE_KEYS.values())
    result = dg.materialize(
        [bigquery_landing_tables],
        selection=[TABLE_KEYS["trades"], TABLE_KEYS["users"]],
        resources={
            "bigquery": BigQueryResource(project=PROJECT, dataset="raw"),
            "landing": LandingResource(path=str(landing)),
        },
    )
    assert result.success
    materialized = {
        m.asset_key: m.metadata
        for m in (
            event.event_specific_data.materialization
            for event in result.get_asset_materialization_events()
        )
    }
    assert set(materialized) == {TABLE_KEYS["trades"], TABLE_KEYS["users"]}
    # already loaded by the loader: the assets find nothing new
    assert all(m["files_loaded"].value == 0 for m in materialized.values())


# --------------------------------------------------------------------------------------
# dbt build --target bigquery_emulator


def _dbt_env(endpoint: str, root: Path) -> dict:
    env = dict(os.environ)
    env.update(
        DBT_TARGET="bigquery_emulator",
        EXCHANGE_BQ_API_ENDPOINT=endpoint,
        EXCHANGE_BQ_PROJECT=PROJECT,
        DBT_TARGET_PATH=str(root / "target"),
        DBT_LOG_PATH=str(root / "logs"),
        DBT_PROFILES_DIR=str(root),
        DO_NOT_TRACK="1",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


@pytest.fixture(scope="module")
def bq_build(bigquery_emulator, bq_raw, tmp_path_factory):  # noqa: F811
    client, _, _ = bq_raw
    root = tmp_path_factory.mktemp("bq_build")
    # the committed profile, which holds the bigquery_emulator target
    shutil.copy(REPO / "profiles.yml", root / "profiles.yml")
    # the e-mail hashing key in its table (docs/bigquery.md, section 4): the DuckDB build's key
    client.create_dataset("secrets", exists_ok=True)
    client.query("create table secrets.pii_hash_key (key string)").result()
    client.query(f"insert into secrets.pii_hash_key values ('{PII_KEY}')").result()
    exclude = [entry["select"] for entry in ALLOWLIST["exclude"]]
    args = [str(BIN / "dbt"), "build", "--no-use-colors"]
    if exclude:
        args += ["--exclude", *exclude]
    built = subprocess.run(
        args, cwd=REPO, env=_dbt_env(bigquery_emulator, root), capture_output=True, text=True
    )
    (root / "build.log").write_text(built.stdout)
    assert built.returncode == 0, built.stdout[-8000:]
    # the models the allow-list leaves out (by name): their marts are not expected
    listed = subprocess.run(
        [str(BIN / "dbt"), "ls", "-q", "--resource-type", "model", "--output", "name"]
        + (["--select", *exclude] if exclude else ["--select", "none"]),
        cwd=REPO,
        env=_dbt_env(bigquery_emulator, root),
        capture_output=True,
        text=True,
    )
    assert listed.returncode == 0, listed.stdout[-3000:]
    excluded = set(listed.stdout.split()) if exclude else set()
    return client, built.stdout, excluded


@pytest.mark.slow
def test_dbt_build_on_the_emulator_gives_the_same_marts_as_duckdb(bq_build, tiny_warehouse):
    client, log, excluded = bq_build
    # every node that was selected ran: nothing failed, nothing was skipped after a failure
    assert re.search(r"Done\. PASS=\d+ WARN=\d+ ERROR=0 SKIP=0 ", log), log[-3000:]
    duck = duckdb.connect(str(tiny_warehouse.warehouse), read_only=True)
    try:
        marts = [
            r[0]
            for r in duck.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'marts' order by 1"
            ).fetchall()
        ]
        on_bigquery = {t.table_id for t in client.list_tables("marts")}
        marts = [t for t in marts if t not in excluded]
        assert set(marts) == on_bigquery
        assert len(marts) > 20
        tolerance = ALLOWLIST.get("mart_columns_not_compared") or {}
        different = []
        for table in marts:
            if table in RUN_DEPENDENT_MARTS:
                continue
            skip = {c["column"] for c in tolerance.get(table, [])}
            columns = [
                r[0]
                for r in duck.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = 'marts' and table_name = ? order by ordinal_position",
                    [table],
                ).fetchall()
                if r[0] not in skip
            ]
            expected = duck.execute(
                f'select {", ".join(chr(34) + c + chr(34) for c in columns)} from marts."{table}"'
            ).fetchall()
            actual = [
                tuple(row.values())
                for row in client.query(
                    f"select {', '.join('`' + c + '`' for c in columns)} from marts.`{table}`"
                ).result()
            ]
            if not same_rows(actual, expected):
                columns_off = [
                    c
                    for k, c in enumerate(columns)
                    if not same_rows([(r[k],) for r in actual], [(r[k],) for r in expected])
                ]
                examples = {}
                for c in columns_off:
                    k = columns.index(c)
                    pairs = zip(
                        sorted((r[k] for r in actual), key=lambda v: repr(sort_key(v))),
                        sorted((r[k] for r in expected), key=lambda v: repr(sort_key(v))),
                        strict=False,
                    )
                    examples[c] = [(a, b) for a, b in pairs if not same_rows([(a,)], [(b,)])][:3]
                different.append(
                    f"{table}: {len(actual)} rows on BigQuery, {len(expected)} on DuckDB, "
                    f"columns that differ (BigQuery, DuckDB): {examples}"
                )
        assert not different, different
    finally:
        duck.close()


def test_the_allowlist_gives_a_reason_for_each_entry():
    for entry in ALLOWLIST["exclude"]:
        assert entry["select"] and len(entry["reason"]) > 20, entry
    for table, columns in (ALLOWLIST.get("mart_columns_not_compared") or {}).items():
        for c in columns:
            assert c["column"] and len(c["reason"]) > 20, (table, c)
    json.dumps(ALLOWLIST)  # plain data
