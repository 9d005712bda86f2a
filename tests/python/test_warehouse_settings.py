"""The warehouse package: every variable in one Settings, one way to open DuckDB.

* every ``EXCHANGE_*`` variable the code reads (Python, profiles.yml, macros, the Makefile) is a
  field of ``warehouse.settings.Settings``, and the README shows the generated table;
* the defaults dbt and make keep (they cannot import Python) equal the Python ones, and the
  DuckDB profile's dbt threads are 1 for a full build, 2 for a daily run (var ``test_days``);
* no program outside ``warehouse/`` calls ``duckdb.connect`` or reads an ``EXCHANGE_*``
  variable from ``os.environ`` itself, and ``warehouse`` imports nothing else of the project;
* ``open_warehouse``: session settings and limits, the lock, read-only never creating a file.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import jinja2
import pytest
import yaml

from warehouse import (
    DEFAULT_WAREHOUSE,
    Limits,
    Settings,
    SettingsError,
    WarehouseLock,
    WarehouseLockedError,
    WarehouseMissingError,
    open_scratch,
    open_warehouse,
    settings,
)

REPO = Path(__file__).resolve().parents[2]
PROJECT_PACKAGES = (
    "warehouse",
    "ingestion",
    "orchestration",
    "predictive",
    "dashboard",
    "compliance",
    "benchmarks",
    "scripts",
    "simulator",
    "tooling",
)
VARIABLE = re.compile(r"\bEXCHANGE_[A-Z0-9_]*[A-Z0-9]\b")
# DuckDB sessions that are not the project's warehouse: the simulator writes landing files
# through an in-memory DuckDB, and the BigQuery emulator runs in its own virtual environment.
OWN_DUCKDB = {"simulator/writer.py", "scripts/bigquery_emulator_serve.py"}


def code_files() -> list[Path]:
    files = [p for pkg in PROJECT_PACKAGES for p in sorted((REPO / pkg).rglob("*.py"))]
    files += [REPO / "profiles.yml", REPO / "dbt_project.yml", REPO / "Makefile"]
    files += sorted((REPO / "macros").rglob("*.sql")) + sorted((REPO / "models").rglob("*.sql"))
    return [p for p in files if p.exists()]


def test_every_variable_read_anywhere_is_a_setting():
    known = set(settings.variables())
    missing: dict[str, list[str]] = {}
    for path in code_files():
        for name in set(VARIABLE.findall(path.read_text())) - known:
            missing.setdefault(name, []).append(str(path.relative_to(REPO)))
    assert not missing, f"variables read but not in warehouse/settings.py: {missing}"


def test_readme_shows_the_generated_table():
    readme = (REPO / "README.md").read_text()
    assert settings.with_table(readme) == readme, (
        "README's settings table is stale: run `python -m warehouse --write README.md`"
    )
    for name in settings.variables():
        assert f"`{name}`" in readme


# The two context managers that hand a dbt run the warehouse through os.environ (dbt reads
# profiles.yml's variables from the process environment).
ENVIRONMENT_SETTERS = {
    "orchestration/resources.py": "dbt_environment",
    "orchestration/assets/dbt.py": "_environment",
}


def _lines_of(path: Path, function: str | None) -> set[int]:
    if function is None:
        return set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef) and node.name == function:
            return set(range(node.lineno, node.end_lineno + 1))
    return set()


def test_no_program_reads_or_changes_an_exchange_variable_itself():
    """Reads go through warehouse.settings; nothing but the two dbt context managers writes."""
    touch = re.compile(
        r"""(os\.environ(\.get|\.setdefault|\.pop)?\s*[\[(]|os\.getenv\s*\(|env\.get\()\s*["']EXCHANGE_"""
    )
    offenders = []
    for path in code_files():
        rel = str(path.relative_to(REPO))
        if path.suffix != ".py" or rel.startswith("warehouse/"):
            continue
        allowed = _lines_of(path, ENVIRONMENT_SETTERS.get(rel))
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if touch.search(line) and n not in allowed:
                offenders.append(f"{rel}:{n}")
    assert not offenders, offenders


# dbt's own switches (no tracking, the venv's dbt on PATH) before DbtProject's prepare step,
# beside the two context managers above.
ENVIRONMENT_WRITERS = {
    **ENVIRONMENT_SETTERS,
    "orchestration/dbt_project.py": "_prepare_environment",
}


def _changes_environ(node: ast.AST) -> bool:
    def is_environ(n: ast.AST) -> bool:
        return isinstance(n, ast.Attribute) and n.attr == "environ"

    if isinstance(node, ast.Assign | ast.AugAssign | ast.Delete):
        targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
        return any(isinstance(t, ast.Subscript) and is_environ(t.value) for t in targets)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        method, owner = node.func.attr, node.func.value
        if is_environ(owner) and method in ("update", "setdefault", "pop", "clear", "popitem"):
            return True
        return method in ("putenv", "unsetenv") and isinstance(owner, ast.Name)
    return False


def test_nothing_else_changes_os_environ_at_run_time():
    offenders = []
    for path in code_files():
        rel = str(path.relative_to(REPO))
        if path.suffix != ".py":
            continue
        allowed = _lines_of(path, ENVIRONMENT_WRITERS.get(rel))
        for node in ast.walk(ast.parse(path.read_text())):
            if _changes_environ(node) and node.lineno not in allowed:
                offenders.append(f"{rel}:{node.lineno}")
    assert not offenders, f"os.environ changed at run time: {offenders}"


def test_only_the_warehouse_package_opens_duckdb():
    offenders = []
    for path in code_files():
        rel = str(path.relative_to(REPO))
        if path.suffix != ".py" or rel.startswith("warehouse/") or rel in OWN_DUCKDB:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "connect"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "duckdb"
            ):
                offenders.append(f"{rel}:{node.lineno}")
    assert not offenders, f"duckdb.connect outside warehouse/: {offenders}"


def test_the_warehouse_package_imports_nothing_else_of_the_project():
    for path in sorted((REPO / "warehouse").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in PROJECT_PACKAGES[1:], f"{path}: imports {name}"


def _defaults(path: Path) -> dict[str, set[str]]:
    text = path.read_text()
    found: dict[str, set[str]] = {}
    for name, value in re.findall(r"env_var\('(EXCHANGE_\w+)',\s*'([^']*)'\)", text):
        found.setdefault(name, set()).add(value)
    for name, value in re.findall(r"^export (EXCHANGE_\w+)\s*\?=\s*(\S+)", text, re.M):
        found.setdefault(name, set()).add(value)
    return found


# macros/financial_integrity.sql is not listed: its default depends on the runner (fail the
# run under plain dbt, only log under Dagster's dbt; the macro's comment says why).
@pytest.mark.parametrize("source", ["profiles.yml", "Makefile"])
def test_dbt_and_make_defaults_equal_the_python_ones(source):
    fields = settings.variables()
    defaults = _defaults(REPO / source)
    assert defaults, f"no defaults found in {source}"
    for name, values in defaults.items():
        field = fields[name]
        allowed = set(field.metadata["dbt_defaults"])
        if field.default is not None:
            default = field.default
            allowed.add(str(default).lower() if isinstance(default, bool) else str(default))
        assert values <= allowed, f"{source}: {name} defaults to {values}, Python to {allowed}"
    assert str(DEFAULT_WAREHOUSE) in _defaults(REPO / "profiles.yml")["EXCHANGE_WAREHOUSE"]


def test_settings_parse_types_and_reject_bad_values():
    parsed = Settings.from_env(
        {
            "EXCHANGE_WAREHOUSE": "~/wh.duckdb",
            "EXCHANGE_DUCKDB_THREADS": "3",
            "EXCHANGE_LOADER_LOCK_TIMEOUT": "0",
            "EXCHANGE_LOADER_MIN_EVENT_TIME": "2020-01-01",
            "EXCHANGE_FINANCIAL_INTEGRITY_FAIL_RUN": "no",
            "EXCHANGE_ALERT_WEBHOOK_URL": "  ",  # blank counts as unset
        }
    )
    assert parsed.warehouse == Path.home() / "wh.duckdb"
    assert parsed.duckdb_threads == 3 and parsed.lock_timeout == 0.0
    assert parsed.loader_min_event_time == dt.datetime(2020, 1, 1)
    assert parsed.financial_integrity_fail_run is False and parsed.alert_webhook_url is None
    assert Settings.from_env({}) == Settings()
    for variable, value in [
        ("EXCHANGE_DUCKDB_THREADS", "two"),
        ("EXCHANGE_LOADER_WORKERS", "0"),
        ("EXCHANGE_LOADER_LOCK_TIMEOUT", "-1"),
        ("EXCHANGE_FINANCIAL_INTEGRITY_FAIL_RUN", "maybe"),
        ("EXCHANGE_LOADER_MIN_EVENT_TIME", "yesterday"),
    ]:
        with pytest.raises(SettingsError, match=variable):
            Settings.from_env({variable: value})


def test_secrets_stay_out_of_the_repr():
    shown = repr(Settings.from_env({"EXCHANGE_AIRBYTE_TOKEN": "s3cr3t-token"}))
    assert "s3cr3t-token" not in shown


def test_current_follows_the_environment(monkeypatch):
    monkeypatch.setenv("EXCHANGE_LOADER_WORKERS", "3")
    first = settings.current()
    assert first.loader_workers == 3 and settings.current() is first  # parsed once
    monkeypatch.setenv("EXCHANGE_LOADER_WORKERS", "1")
    assert settings.current().loader_workers == 1


def test_open_warehouse_applies_the_session_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("EXCHANGE_DUCKDB_MEMORY_LIMIT", "1GB")
    monkeypatch.setenv("EXCHANGE_DUCKDB_THREADS", "1")
    path = tmp_path / "wh.duckdb"
    with open_warehouse(path) as con:
        got = con.execute(
            "select current_setting('memory_limit'), current_setting('threads'), "
            "current_setting('TimeZone'), current_setting('temp_directory')"
        ).fetchone()
    assert got[1:] == (1, "UTC", f"{path}.tmp")
    assert got[0] in ("953.6 MiB", "1.0 GB", "1GB"), got[0]
    with open_warehouse(path, read_only=True, limits=Limits(memory_limit="512MB")) as con:
        assert con.execute("select current_setting('TimeZone')").fetchone()[0] == "UTC"
        with pytest.raises(duckdb.Error):  # read-only really
            con.execute("create table t (x int)")
    with open_scratch() as con:
        assert con.execute("select current_setting('TimeZone')").fetchone()[0] == "UTC"


def test_read_only_never_creates_the_file(tmp_path):
    path = tmp_path / "none" / "wh.duckdb"
    with (
        pytest.raises(WarehouseMissingError, match="no warehouse at"),
        open_warehouse(path, read_only=True),
    ):
        pass
    assert not path.parent.exists()


def test_a_writer_waits_for_the_lock_then_gives_up(tmp_path):
    path = tmp_path / "wh.duckdb"
    with (
        WarehouseLock(path, timeout=0),
        pytest.raises(WarehouseLockedError, match="locked by another load"),
        open_warehouse(path, limits=Limits(lock_timeout=0.3)),
    ):
        pass
    with open_warehouse(path, limits=Limits(lock_timeout=0)) as con:
        con.execute("create table t as select 1 as x")
    with WarehouseLock(path, timeout=0), open_warehouse(path, read_only=True) as con:
        assert con.execute("select x from t").fetchone() == (1,)


def test_a_reader_meeting_another_processs_writer_fails_at_once(tmp_path):
    path = tmp_path / "wh.duckdb"
    duckdb.connect(str(path)).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
            "print('held', flush=True); time.sleep(30)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with (
            pytest.raises(WarehouseLockedError, match="lets no reader in"),
            open_warehouse(path, read_only=True),
        ):
            pass
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize(
    ("environment", "dbt_vars", "threads"),
    [
        ({}, {}, 1),  # a full build: one model at a time
        ({}, {"test_days": 1}, 2),  # a daily run: its small nodes two at once
        ({"EXCHANGE_DBT_THREADS": "3"}, {}, 3),
        ({"EXCHANGE_DBT_THREADS": "3"}, {"test_days": 1}, 3),
    ],
)
def test_the_duckdb_profile_builds_a_daily_run_on_two_threads(environment, dbt_vars, threads):
    profile = yaml.safe_load((REPO / "profiles.yml").read_text())
    expression = profile["crypto_exchange"]["outputs"]["duckdb"]["threads"]
    env = jinja2.Environment()
    env.filters["as_number"] = int
    rendered = env.from_string(expression).render(
        env_var=lambda name, default=None: environment.get(name, default),
        var=lambda name, default=None: dbt_vars.get(name, default),
    )
    assert int(rendered) == threads
