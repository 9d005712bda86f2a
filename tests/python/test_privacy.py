"""SPEC section 9: e-mails reach the marts only as keyed hashes, IPs only truncated, and no
secret is written into compiled SQL."""

from __future__ import annotations

import hashlib
import hmac
import re

import duckdb

DEV_KEY = "local-development-key-change-me"  # profiles.yml's default


def test_email_is_hmac_sha256_with_the_key(tiny_warehouse):
    con = duckdb.connect(str(tiny_warehouse.warehouse), read_only=True)
    rows = con.sql("""
        select raw.email, stg.email_hash
        from staging.stg_exchange__users as stg
        inner join (select distinct user_id, email from raw.users where email is not null) as raw
            using (user_id)
        limit 50
    """).fetchall()
    assert rows
    for email, email_hash in rows:
        expected = hmac.new(
            DEV_KEY.encode(), email.strip().lower().encode(), hashlib.sha256
        ).hexdigest()
        assert email_hash == expected
        # A plain hash would be reversible by a dictionary of addresses.
        assert email_hash != hashlib.sha256(email.strip().lower().encode()).hexdigest()


def test_no_clear_email_or_full_ip_in_any_mart(tiny_warehouse):
    con = duckdb.connect(str(tiny_warehouse.warehouse), read_only=True)
    columns = con.sql("""
        select c.table_schema, c.table_name, c.column_name
        from information_schema.columns as c
        where c.table_schema in ('marts', 'staging', 'intermediate')
            and c.data_type = 'VARCHAR'
    """).fetchall()
    assert columns
    email = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", re.I)
    full_ipv4 = re.compile(r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.(?!0/24$)\d{1,3}$")
    for schema, table, column in columns:
        values = [
            v
            for (v,) in con.sql(
                f'select distinct "{column}" from "{schema}"."{table}" '
                f'where "{column}" is not null limit 2000'
            ).fetchall()
        ]
        assert not any(email.search(v) for v in values), (
            f"clear e-mail in {schema}.{table}.{column}"
        )
        assert not any(full_ipv4.match(v) for v in values), (
            f"full IPv4 in {schema}.{table}.{column}"
        )


def test_ip_truncation_for_ipv4_and_ipv6(tiny_warehouse):
    """The macro truncates to /24 and /48, including compressed IPv6 forms."""
    from tests.python.conftest import dbt

    result = dbt(
        [
            "show",
            "--inline",
            "select {{ truncate_ip(\"'203.0.113.77'\") }} as v4, "
            "{{ truncate_ip(\"'2001:db8:abcd:12::1'\") }} as v6, "
            "{{ truncate_ip(\"'2001:db8::1'\") }} as v6_short, "
            "{{ truncate_ip(\"'not an ip'\") }} as bad",
            "--output",
            "json",
        ],
        tiny_warehouse.env,
    )
    assert "203.0.113.0/24" in result.stdout
    assert "2001:db8:abcd::/48" in result.stdout
    assert "2001:db8:0::/48" in result.stdout


def test_the_key_never_reaches_compiled_sql(tiny_warehouse):
    compiled = tiny_warehouse.root / "dbt_target"
    assert compiled.exists()
    for path in (p for p in compiled.rglob("*") if p.is_file()):
        assert DEV_KEY not in path.read_text(errors="ignore"), path
