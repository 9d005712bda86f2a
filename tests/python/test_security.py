"""Security checks (docs/reliability.md#security): no credential in the repository, profiles read
secrets from the environment only, no clear e-mail or IP address in the marts, and identifiers
coming from landing files (column names, file names) can never inject SQL.

Elsewhere: the BI role reads the marts only (test_postgres_dbt.py::test_bi_role_reads_the_marts
_only), e-mails are keyed hashes and the key never reaches compiled SQL (test_privacy.py).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import duckdb
import pytest
import yaml

from ingestion.loaders import LoaderSettings, load_landing

from .bad_input_corpus import TRADE_COLUMNS, csv_bytes, jsonl_bytes, trade
from .conftest import REPO

FIVE_SECONDS = LoaderSettings(lock_timeout=5)

# --------------------------------------------------------------------------------------
# the secret scanner

SECRET_PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY(?: BLOCK)?-----"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret key": re.compile(r"aws_secret_access_key\s*[=:]\s*['\"]?[A-Za-z0-9/+=]{40}"),
    "GitHub token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})"),
    "GitLab token": re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    "Slack webhook": re.compile(r"hooks\.slack\.com/services/T[A-Za-z0-9]+/B[A-Za-z0-9]+/\w+"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "Stripe key": re.compile(r"\b[rs]k_live_[0-9A-Za-z]{16,}"),
    "JSON web token": re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[\w-]{10,}"),
    "service-account key": re.compile(r"\"private_key\"\s*:\s*\"-----BEGIN"),
    # a password inside a URL (user, colon, password, at-sign), unless a placeholder or template
    "password in a URL/DSN": re.compile(
        r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:(?P<value>[^@\s/'\"]+)@", re.IGNORECASE
    ),
    # password = "...", api_key: '...' (a literal value, not an env lookup or a template)
    "credential assignment": re.compile(
        r"\b(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|secret[_-]?key|"
        r"hash[_-]?key|pii[_-]?key|client[_-]?secret)\b['\"]?\s*[:=]\s*"
        r"['\"](?P<value>[^'\"\s]{6,})['\"]",
        re.IGNORECASE,
    ),
}
# Values that are placeholders, not secrets.
PLACEHOLDER = re.compile(r"^(?:\$\{?\w+\}?|\{\{.*|\*+|<[^>]+>|x+|\.\.\.|changeme)$", re.IGNORECASE)
# The documented keys for development and tests, and nothing else: value -> where allowed.
ALLOWED = {
    # profiles.yml's default e-mail hashing key for a local run (README, test_privacy), also
    # in the PostgreSQL missing-key error's fix (macros/target_setup.sql)
    "local-development-key-change-me": (
        "profiles.yml",
        "macros/target_setup.sql",
        "tests/",
        "docs/",
        "README.md",
    ),
    # the fake API keys and DSN password of the tests (the redaction test needs a password)
    "cg-test-key": ("tests/",),
    "cmc-test-key": ("tests/",),
    "secret": ("tests/",),
    # the bearer token of the local stand-in Airbyte server (test_airbyte), and the BigQuery
    # emulator's dummy token (it checks none)
    "test-token": ("tests/",),
    "emulator-needs-no-token": ("profiles.yml", "docs/"),
}
# Files that must never be in the repository at all.
FORBIDDEN_NAMES = re.compile(
    r"(?:^|/)(?:\.env(?:\.[\w-]+)?|profiles\.yml|id_(?:rsa|dsa|ecdsa|ed25519)|"
    r"credentials\.json|[^/]*\.(?:pem|p12|pfx|key|keystore|jks))$"
)


def repository_files() -> list[str]:
    """Tracked files, and new files not ignored (what the next commit could hold)."""
    done = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
    )
    return sorted({p for p in done.stdout.decode().split("\0") if p and (REPO / p).is_file()})


def scan_text(path: str, text: str) -> list[str]:
    findings = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        for kind, pattern in SECRET_PATTERNS.items():
            for match in pattern.finditer(line):
                value = match.groupdict().get("value") or match.group(0)
                if PLACEHOLDER.match(value):
                    continue
                if any(path.startswith(p) for p in ALLOWED.get(value, ())):
                    continue
                findings.append(f"{path}:{line_number}: {kind}: {match.group(0)[:60]}")
    return findings


def scan(root: Path, paths: list[str]) -> list[str]:
    findings = []
    for path in paths:
        # the project's own profiles.yml holds no secret (every credential an env_var: below)
        if FORBIDDEN_NAMES.search(path) and path != "profiles.yml":
            findings.append(f"{path}: a credentials file must never be committed")
        data = (root / path).read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary
        findings += scan_text(path, data.decode("utf-8", "replace"))
    return findings


def test_no_secret_in_the_repository():
    files = repository_files()
    assert len(files) > 100 and "profiles.yml" in files
    assert scan(REPO, files) == []


def test_the_scanner_finds_planted_secrets(tmp_path: Path):
    """The scanner itself can fail: secrets planted in a scratch tree are all found (each is
    assembled here so that this file holds none)."""
    planted = {
        "a.py": 'PASSWORD = "' + "hunter2" + 'hunter2"\n',
        "b.yml": "url: postgresql://app:" + "s3cr3tpw" + "@db.internal:5432/prod\n",
        "c.txt": "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIE\n",
        "d.sh": "export AWS_KEY=" + "AKIA" + "ABCDEFGHIJKLMNOP\n",
        "e.json": '{"api_key": "' + "sk-abcdef" + '123456"}\n',
        "f.md": "token " + "ghp_" + "a" * 36 + "\n",
        "tests/g.py": 'api_key="' + "another-real" + '-looking-key"\n',
        ".env": "NOTHING=here\n",
        "server.pem": "x\n",
    }
    for name, text in planted.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / "ok.py").write_text(
        "password = os.environ['PG_PASSWORD']\n"
        "dsn = 'postgresql://user:${PGPASSWORD}@host/db'\n"
        "key: \"{{ env_var('DBT_ENV_SECRET_X', '') }}\"\n"
    )
    findings = scan(tmp_path, sorted([*planted, "ok.py"]))
    flagged = {f.split(":", 1)[0] for f in findings}
    assert flagged == set(planted)


# --------------------------------------------------------------------------------------
# profiles

ENV_VAR = re.compile(r"^\{\{\s*env_var\('(?P<name>[A-Z0-9_]+)'(?:,\s*'(?P<default>[^']*)')?\)")
SECRET_KEYS = {"password", "pass", "keyfile", "keyfile_json", "token", "private_key", "secret"}


def _leaves(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, str(key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _leaves(value, (*path, str(i)))
    else:
        yield path, node


DEVELOPMENT_DEFAULTS = ("", None, "local-development-key-change-me", "emulator-needs-no-token")


def test_profiles_read_every_secret_from_the_environment():
    profiles = yaml.safe_load((REPO / "profiles.yml").read_text())
    outputs = profiles["crypto_exchange"]["outputs"]
    assert set(outputs) == {"duckdb", "postgres", "bigquery", "bigquery_emulator", "lint"}
    secrets = 0
    for path, value in _leaves(outputs):
        key = path[-1].lower()
        if key in SECRET_KEYS or "key" in key.split("_") or key.endswith("_key"):
            secrets += 1
            match = ENV_VAR.match(str(value))
            assert match, f"{'.'.join(path)} is not read from the environment: {value!r}"
            # the DBT_ENV_SECRET_ prefix keeps the value out of dbt's logs
            assert match["name"].startswith("DBT_ENV_SECRET_"), ".".join(path)
            # only the documented development defaults (the e-mail key; the emulator checks none)
            assert match["default"] in DEVELOPMENT_DEFAULTS
    assert secrets >= 3  # the PostgreSQL password, the BigQuery key file, the e-mail hash key
    # committed, so that dbt works from a fresh clone; a user's own profiles: DBT_PROFILES_DIR
    tracked = subprocess.run(
        ["git", "ls-files", "--error-unmatch", "profiles.yml"], cwd=REPO, capture_output=True
    )
    assert tracked.returncode == 0, "profiles.yml must be committed (dbt from a fresh clone)"


# --------------------------------------------------------------------------------------
# the marts: addresses never in clear

FULL_IPV6 = re.compile(r"^(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}$|^(?=.*::)(?!.*/\d+$)[0-9a-f:]{6,}$")


def test_no_full_ipv6_or_email_in_marts_or_snapshots(tiny_warehouse):
    """test_privacy.py checks e-mails and full IPv4 in staging, intermediate and marts; this adds
    full IPv6 addresses there and both kinds in the snapshots (the simulator writes both
    address families, so the check has something to find were truncation skipped)."""
    con = duckdb.connect(str(tiny_warehouse.warehouse), read_only=True)
    try:
        raw_v6 = con.execute(
            "select count(*) from raw.login_events where ip_address like '%:%'"
        ).fetchone()[0]
        assert raw_v6 > 0, "no IPv6 address in the raw data: the check would prove nothing"
        columns = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_schema in ('marts', 'staging', 'intermediate', 'snapshots') "
            "and data_type = 'VARCHAR'"
        ).fetchall()
        email = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", re.IGNORECASE)
        for schema, table, column in columns:
            values = con.execute(
                f'select distinct "{column}" from "{schema}"."{table}" '
                f"where \"{column}\" like '%:%' or \"{column}\" like '%@%' limit 5000"
            ).fetchall()
            for (value,) in values:
                assert not FULL_IPV6.match(value.lower()), f"full IPv6 in {schema}.{table}.{column}"
                assert not email.search(value), f"clear e-mail in {schema}.{table}.{column}"
    finally:
        con.close()


# --------------------------------------------------------------------------------------
# hostile identifiers in landing files

HOSTILE_COLUMNS = [
    'x"; drop table raw.users; --',
    "y'); drop table raw.users; --",
    "z` ; delete from raw._loaded_files; --",
]
HOSTILE_FILES = [
    "'; drop table raw.users; --.csv",
    '"; drop table raw.users; --.jsonl',
    "*.csv",  # DuckDB's readers glob: this must read itself alone, not the folder
    "t[1]-?.csv",
]


def test_hostile_column_and_file_names_load_as_data(tmp_path: Path):
    landing = tmp_path / "landing"
    users = landing / "users"
    users.mkdir(parents=True)
    (users / "users.csv").write_bytes(
        csv_bytes(
            [
                {
                    "user_id": "U1",
                    "email": "a@example.com",
                    "created_at": "2026-01-01T00:00:00Z",
                }
            ]
        )
    )
    folder = landing / "trades"
    folder.mkdir()
    rows = [trade(1), trade(2)]
    for i, row in enumerate(rows):
        for j, name in enumerate(HOSTILE_COLUMNS):
            row[name] = f"v{i}{j}"
    contents = {
        HOSTILE_FILES[0]: csv_bytes(rows, [*TRADE_COLUMNS, *HOSTILE_COLUMNS]),
        HOSTILE_FILES[1]: jsonl_bytes([trade(3), trade(4, **{HOSTILE_COLUMNS[0]: "j"})]),
        HOSTILE_FILES[2]: csv_bytes([trade(5)]),
        HOSTILE_FILES[3]: csv_bytes([trade(6)]),
        "t1-a.csv": csv_bytes([trade(7)]),  # what t[1]-?.csv would match as a glob
    }
    for name, content in contents.items():
        (folder / name).write_bytes(content)
    evil_folder = landing / 'trades"; drop table raw.users; --'
    evil_folder.mkdir()
    (evil_folder / "x.csv").write_bytes(csv_bytes([trade(99)]))
    warehouse = tmp_path / "warehouse.duckdb"

    report = load_landing(landing, warehouse, "users,trades", settings=FIVE_SECONDS)

    assert report.unknown_folders == [evil_folder.name]  # ignored, with a warning
    assert (report.rows_loaded, report.rows_quarantined, report.files_rejected) == (8, 0, 0)
    assert report.tables["trades"].columns_added == HOSTILE_COLUMNS
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert con.execute("select user_id from raw.users").fetchall() == [("U1",)]
        tables = {
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'raw'"
            ).fetchall()
        }
        assert {"users", "trades", "_loaded_files", "_quarantine"} <= tables
        per_file = dict(
            con.execute(
                "select _source_file, list(trade_id order by _row_number) from raw.trades "
                "group by 1"
            ).fetchall()
        )
        assert per_file == {
            f"trades/{HOSTILE_FILES[0]}": ["C000001", "C000002"],
            f"trades/{HOSTILE_FILES[1]}": ["C000003", "C000004"],
            "trades/*.csv": ["C000005"],
            "trades/t[1]-?.csv": ["C000006"],
            "trades/t1-a.csv": ["C000007"],
        }
        quoted = ", ".join('"' + c.replace('"', '""') + '"' for c in HOSTILE_COLUMNS)
        values = con.execute(
            f"select trade_id, {quoted} from raw.trades where trade_id <= 'C000004' order by 1"
        ).fetchall()
        assert values == [
            ("C000001", "v00", "v01", "v02"),
            ("C000002", "v10", "v11", "v12"),
            ("C000003", None, None, None),
            ("C000004", "j", None, None),
        ]
        recorded = con.execute("select count(*) from raw._loaded_files").fetchone()[0]
        assert recorded == 6
    finally:
        con.close()


@pytest.mark.postgres
def test_hostile_column_names_publish_safely_to_postgres(postgres_schema, tmp_path: Path):
    """The same hostile column names go through publish-raw into PostgreSQL as columns."""
    import psycopg2

    from ingestion.postgres import publish_raw

    dsn, schema = postgres_schema
    landing = tmp_path / "landing"
    (landing / "trades").mkdir(parents=True)
    row = trade(1) | {name: f"v{j}" for j, name in enumerate(HOSTILE_COLUMNS)}
    (landing / "trades" / HOSTILE_FILES[0]).write_bytes(
        csv_bytes([row], [*TRADE_COLUMNS, *HOSTILE_COLUMNS])
    )
    warehouse = tmp_path / "warehouse.duckdb"
    load_landing(landing, warehouse, "trades", settings=FIVE_SECONDS)

    publish_raw(warehouse, dsn, schema, ["trades"])

    con = psycopg2.connect(dsn)
    try:
        with con.cursor() as cur:
            quoted = ", ".join('"' + c.replace('"', '""') + '"' for c in HOSTILE_COLUMNS)
            cur.execute(f'select trade_id, _source_file, {quoted} from "{schema}".trades')
            assert cur.fetchall() == [("C000001", f"trades/{HOSTILE_FILES[0]}", "v0", "v1", "v2")]
            cur.execute("select to_regclass(%s)", [f'"{schema}".trades'])
            assert cur.fetchone()[0] is not None
    finally:
        con.close()
    assert json.dumps(HOSTILE_COLUMNS)  # the names survived as data, not as SQL
