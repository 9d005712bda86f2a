"""IP addresses as rule shared_ip sees them, computed in Python independently of the SQL
(macros ip_address_key and hash_ip; models/marts/compliance/_compliance__docs.md, "What one IP
address means")."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os

# The key dbt hashes with (profiles.yml's default unless the environment sets one).
PII_HASH_KEY = os.environ.get("DBT_ENV_SECRET_PII_HASH_KEY") or "local-development-key-change-me"


def ip_address_key(address: str) -> str | None:
    """One IP address as shared_ip sees it: the IPv4 address, or the IPv6 /64 (compliance docs,
    "What one IP address means"), written like the macro ip_address_key."""
    octets = address.split(".")
    if len(octets) == 4 and all(o.isdigit() and len(o) <= 3 and int(o) <= 255 for o in octets):
        return ".".join(str(int(o)) for o in octets)  # leading zeros allowed, as in the macro
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if ip.version == 4:
        return str(ip)
    groups = ip.exploded.split(":")[:4]
    return ":".join(format(int(g, 16), "x") for g in groups) + "::/64"


def ip_address_hash(address: str) -> str | None:
    key = ip_address_key(address)
    if key is None:
        return None
    return hmac.new(PII_HASH_KEY.encode(), key.encode(), hashlib.sha256).hexdigest()
