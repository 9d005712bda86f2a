"""docs/reliability.md#security: e-mails reach the marts only as keyed hashes, IPs only truncated or
as keyed hashes (what shared_ip matches on), and no secret is written into compiled SQL."""

from __future__ import annotations

import hashlib
import hmac
import json
import re

import duckdb

from tests.python.ip_keys import ip_address_hash, ip_address_key

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
    # The one allowed mention: the default in the PostgreSQL missing-key error's fix command
    # (macros/target_setup.sql), a shell default that the parsed macro source carries; the
    # key dbt hashes with must appear nowhere else (in a real deployment it is not the default).
    documented_default = "${DBT_ENV_SECRET_PII_HASH_KEY:-" + DEV_KEY + "}"
    for path in (p for p in compiled.rglob("*") if p.is_file()):
        text = path.read_text(errors="ignore").replace(documented_default, "")
        assert DEV_KEY not in text, path


def test_ip_address_hash_is_the_keyed_hash_of_the_address(tiny_warehouse):
    """Staging's ip_address_hash is HMAC-SHA256 of the address (IPv4) or its /64 (IPv6) with the
    e-mail key: never an unkeyed hash, which hashing every IPv4 address would reverse."""
    con = duckdb.connect(str(tiny_warehouse.warehouse), read_only=True)
    # The staging view hashes in the session: hand it the key as dbt's sessions do.
    con.execute("set variable pii_hash_key = ?", [DEV_KEY])
    rows = con.sql("""
        select distinct raw.ip_address, stg.ip_address_hash
        from staging.stg_exchange__login_events as stg
        inner join raw.login_events as raw using (event_id)
        where raw.ip_address is not null
    """).fetchall()
    assert any(":" in ip for ip, _ in rows) and any("." in ip for ip, _ in rows)
    for ip, digest in rows:
        assert digest == ip_address_hash(ip), ip
        for text in {ip, ip_address_key(ip)}:
            assert digest != hashlib.sha256(text.encode()).hexdigest(), ip
            assert digest != hashlib.md5(text.encode()).hexdigest(), ip
    # Without the key (a session that is not dbt's) the view gives no hash at all.
    keyless = duckdb.connect(str(tiny_warehouse.warehouse), read_only=True)
    assert keyless.execute(
        "select count(ip_address_hash) from staging.stg_exchange__login_events"
    ).fetchone() == (0,)


def test_one_ipv6_address_is_its_64(tiny_warehouse):
    """IPv6: addresses of one /64 are one address (a subscriber's devices rotate the lower 64
    bits), two /64s of one /48 are not; spellings of one address hash alike; not an IP: NULL."""
    from tests.python.conftest import dbt

    literals = {
        "a": "2001:db8:abcd:12::1",
        "b": "2001:0DB8:ABCD:0012:9f3e:11ff:fe20:7c01",  # same /64, another interface id
        "c": "2001:db8:abcd:13::1",  # next /64 of the same /48
        "d": "2001:db8::1",
        "e": "2001:db8:0:0:ffff::2",  # same /64 as d, written without '::' up front
        "f": "203.0.113.7",
        "g": "203.000.113.007",  # same IPv4 address, zero-padded
        "h": "203.0.113.8",  # same /24, another address
        "i": "203.0.113.256",  # not an address
        "bad": "not an ip",
    }
    select = ", ".join(f"{{{{ hash_ip(\"'{v}'\") }}}} as {k}" for k, v in literals.items())
    result = dbt(["show", "--inline", f"select {select}", "--output", "json"], tiny_warehouse.env)
    shown = json.loads(result.stdout[result.stdout.index("{") :])["show"][0]
    assert shown["a"] == shown["b"] == ip_address_hash(literals["a"])
    assert shown["c"] != shown["a"]
    assert shown["d"] == shown["e"] == ip_address_hash(literals["d"])
    assert shown["f"] == shown["g"] == ip_address_hash(literals["f"])
    assert shown["h"] != shown["f"]
    assert shown["bad"] is None and shown["i"] is None
    assert ip_address_key(literals["b"]) == "2001:db8:abcd:12::/64"


def test_alerts_show_the_network_and_the_hash_never_the_address(tiny_warehouse):
    """shared_ip alerts (planted on an IPv4 address and an IPv6 /64) carry the address's keyed
    hash and its network; no raw address appears in any text column of the marts or the
    intermediate layer."""
    con = duckdb.connect(str(tiny_warehouse.warehouse), read_only=True)
    raw_ips = {
        ip
        for (ip,) in con.sql("""
            select ip_address from raw.login_events where ip_address is not null
            union select ip_address from raw.security_events where ip_address is not null
        """).fetchall()
    }
    alerts = con.sql("""
        select hit_key, alert_details from marts.fct_compliance_alerts
        where alert_source = 'rule' and rule_name = 'shared_ip'
    """).fetchall()
    assert alerts
    hashes = {ip_address_hash(ip) for ip in raw_ips}
    network = re.compile(r"in network (\S+/(?:24|48))$")
    for hit_key, details in alerts:
        assert hit_key in hashes and f"(hash {hit_key})" in details
        assert network.search(details), details
    token = re.compile(r"[0-9A-Za-z.:/]+")
    columns = con.sql("""
        select table_schema, table_name, column_name from information_schema.columns
        where table_schema in ('marts', 'intermediate') and data_type = 'VARCHAR'
    """).fetchall()
    for schema, table, column in columns:
        for (value,) in con.sql(
            f'select distinct "{column}" from "{schema}"."{table}" where "{column}" is not null'
        ).fetchall():
            leaked = raw_ips & set(token.findall(value))
            assert not leaked, f"clear IP {leaked} in {schema}.{table}.{column}"
