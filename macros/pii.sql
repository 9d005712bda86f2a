{#- Personal data never reaches the marts in clear (SPEC section 9). -#}

{#- E-mail as HMAC-SHA256 hex digest keyed by DBT_ENV_SECRET_PII_HASH_KEY. A plain hash
    would be reversible by a dictionary of addresses. The key is read from the session
    (DuckDB variable, PostgreSQL setting), never written into the SQL. -#}
{% macro hash_email(column) -%}
    {{ return(adapter.dispatch('hash_email', 'crypto_exchange')(column)) }}
{%- endmacro %}

{% macro duckdb__hash_email(column) -%}
    {#- HMAC(K, m) = H((K xor opad) || H((K xor ipad) || m)), K zero-padded to 64 bytes. -#}
    (
        select sha256(pads.opad || unhex(sha256(pads.ipad || encode(lower(trim({{ column }}))))))
        from (
            select
                unhex(string_agg(printf('%02x', xor(('0x' || substr(key_hex, 2 * i + 1, 2))::int, 54)), '' order by i)) as ipad,
                unhex(string_agg(printf('%02x', xor(('0x' || substr(key_hex, 2 * i + 1, 2))::int, 92)), '' order by i)) as opad
            from (select rpad(hex(encode(getvariable('pii_hash_key'))), 128, '0') as key_hex) as k,
                range(64) as t(i)
        ) as pads
    )
{%- endmacro %}

{% macro postgres__hash_email(column) -%}
    {#- pgcrypto's hmac(); the key is the session setting exchange.pii_hash_key. -#}
    encode(hmac(lower(trim({{ column }})), current_setting('exchange.pii_hash_key'), 'sha256'), 'hex')
{%- endmacro %}

{% macro bigquery__hash_email(column) -%}
    {#- The key comes from a one-row secured table (var pii_key_table), not from the SQL text. -#}
    to_hex(
        sha256(
            concat(
                (select rpad(cast(key as bytes), 64, b'\x00') ^ repeat(b'\x5c', 64) from {{ var('pii_key_table', 'secrets.pii_hash_key') }}),
                sha256(concat(
                    (select rpad(cast(key as bytes), 64, b'\x00') ^ repeat(b'\x36', 64) from {{ var('pii_key_table', 'secrets.pii_hash_key') }}),
                    cast(lower(trim({{ column }})) as bytes)
                ))
            )
        )
    )
{%- endmacro %}

{#- IP address truncated to its network: /24 for IPv4, /48 for IPv6. -#}
{% macro truncate_ip(column) -%}
    {{ return(adapter.dispatch('truncate_ip', 'crypto_exchange')(column)) }}
{%- endmacro %}

{% macro default__truncate_ip(column) -%}
    case
        when regexp_matches({{ column }}, '^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$')
            then regexp_extract({{ column }}, '^(\d{1,3}\.\d{1,3}\.\d{1,3})\.', 1) || '.0/24'
        when regexp_matches({{ column }}, '^[0-9A-Fa-f:]+$') and {{ column }} like '%:%'
            then lower(
                coalesce(nullif(split_part(split_part({{ column }}, '::', 1), ':', 1), ''), '0') || ':'
                || coalesce(nullif(split_part(split_part({{ column }}, '::', 1), ':', 2), ''), '0') || ':'
                || coalesce(nullif(split_part(split_part({{ column }}, '::', 1), ':', 3), ''), '0')
            ) || '::/48'
    end
{%- endmacro %}

{% macro postgres__truncate_ip(column) -%}
    case
        when {{ column }} ~ '^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$'
            then network(set_masklen({{ column }}::inet, 24))::text
        when {{ column }} ~ '^[0-9A-Fa-f:]+$' and {{ column }} like '%:%'
            then network(set_masklen({{ column }}::inet, 48))::text
    end
{%- endmacro %}

{% macro bigquery__truncate_ip(column) -%}
    case
        when regexp_contains({{ column }}, r'^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$')
            then concat(net.ip_to_string(net.ip_trunc(net.safe_ip_from_string({{ column }}), 24)), '/24')
        when regexp_contains({{ column }}, r'^[0-9A-Fa-f:]+$')
            then concat(net.ip_to_string(net.ip_trunc(net.safe_ip_from_string({{ column }}), 48)), '/48')
    end
{%- endmacro %}

{#- Free text (a quarantined record, a reason) with every e-mail-like value removed and every
    IP-like value truncated: /24 for IPv4, /48 for IPv6 (SPEC section 9: no clear e-mail or IP
    where an analyst can read it, quarantine records included). By pattern, not by column, so
    an address in a misaligned field or in a malformed line is caught too. Each address is
    matched where no hex digit, colon or dot precedes it, so a value is never truncated twice. -#}
{% macro mask_pii_text(column) -%}
    {%- set email = '[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+([.][A-Za-z0-9-]+)*[.][A-Za-z]{2,}' -%}
    {%- set ipv4 = '(^|[^0-9.])([0-9]{1,3}[.][0-9]{1,3}[.][0-9]{1,3})[.][0-9]{1,3}' -%}
    {%- set ipv6_full = '(^|[^0-9A-Fa-f:.])([0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4})(:[0-9A-Fa-f]{0,4}){1,5}' -%}
    {%- set ipv6_short = '(^|[^0-9A-Fa-f:.])([0-9A-Fa-f]{1,4}(:[0-9A-Fa-f]{1,4})?)::([0-9A-Fa-f]{1,4}(:[0-9A-Fa-f]{1,4})*)?' -%}
    {%- set steps = [
        (email, '[e-mail removed]'),
        (ipv4, '\\1\\2.0/24'),
        (ipv6_full, '\\1\\2::/48'),
        (ipv6_short, '\\1\\2::/48'),
    ] -%}
    {%- set ns = namespace(expression=column) -%}
    {%- for pattern, replacement in steps -%}
        {%- set ns.expression = adapter.dispatch('regexp_replace_all', 'crypto_exchange')(ns.expression, pattern, replacement) -%}
    {%- endfor -%}
    {{ ns.expression }}
{%- endmacro %}

{#- Every match of a pattern (RE2 and PostgreSQL's syntax alike) replaced; \1 refers to a group. -#}
{% macro default__regexp_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}

{% macro bigquery__regexp_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, r'{{ pattern }}', r'{{ replacement }}')
{%- endmacro %}
