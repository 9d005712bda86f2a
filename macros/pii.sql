{#- Personal data never reaches the marts in clear (docs/reliability.md#security). -#}

{#- E-mail as HMAC-SHA256 hex digest keyed by DBT_ENV_SECRET_PII_HASH_KEY. A plain hash
    would be reversible by a dictionary of addresses. -#}
{% macro hash_email(column) -%}
    {{ hmac_sha256('lower(trim(' ~ column ~ '))') }}
{%- endmacro %}

{#- The hex HMAC-SHA256 of a text expression, keyed by DBT_ENV_SECRET_PII_HASH_KEY: the one
    keyed hash of personal data (e-mails, IP addresses). The key is read from the session
    (DuckDB variable, PostgreSQL setting, BigQuery secured table), never written into the SQL. -#}
{% macro hmac_sha256(expression) -%}
    {{ return(adapter.dispatch('hmac_sha256', 'crypto_exchange')(expression)) }}
{%- endmacro %}

{% macro duckdb__hmac_sha256(expression) -%}
    {#- HMAC(K, m) = H((K xor opad) || H((K xor ipad) || m)), K zero-padded to 64 bytes. -#}
    (
        select sha256(pads.opad || unhex(sha256(pads.ipad || encode({{ expression }}))))
        from (
            select
                unhex(string_agg(printf('%02x', xor(('0x' || substr(key_hex, 2 * i + 1, 2))::int, 54)), '' order by i)) as ipad,
                unhex(string_agg(printf('%02x', xor(('0x' || substr(key_hex, 2 * i + 1, 2))::int, 92)), '' order by i)) as opad
            from (select rpad(hex(encode(getvariable('pii_hash_key'))), 128, '0') as key_hex) as k,
                range(64) as t(i)
        ) as pads
    )
{%- endmacro %}

{% macro postgres__hmac_sha256(expression) -%}
    {#- pgcrypto's hmac(); the key is the session setting exchange.pii_hash_key. -#}
    encode(hmac({{ expression }}, current_setting('exchange.pii_hash_key'), 'sha256'), 'hex')
{%- endmacro %}

{% macro bigquery__hmac_sha256(expression) -%}
    {#- The key comes from a one-row secured table (var pii_key_table), not from the SQL text. -#}
    to_hex(
        sha256(
            concat(
                (select rpad(cast(key as bytes), 64, b'\x00') ^ repeat(b'\x5c', 64) from {{ var('pii_key_table', 'secrets.pii_hash_key') }}),
                sha256(concat(
                    (select rpad(cast(key as bytes), 64, b'\x00') ^ repeat(b'\x36', 64) from {{ var('pii_key_table', 'secrets.pii_hash_key') }}),
                    cast({{ expression }} as bytes)
                ))
            )
        )
    )
{%- endmacro %}

{#- One IP address as matching rules see it (docs: models/marts/compliance/_compliance__docs.md,
    "What one IP address means"): an IPv4 address with its octets as plain numbers
    ('203.0.113.7'); for IPv6 the /64 a subscriber is given, with its four leading groups
    spelled out without leading zeros ('2001:db8:0:12::/64'), since hosts rotate the other 64
    bits (temporary addresses) while one household or device keeps its /64. NULL for
    anything else. Plain string functions, so every target gives the same text (and hash). -#}
{% macro ip_address_key(column) -%}
    {%- set text = 'lower(trim(' ~ column ~ '))' -%}
    {%- set before = dbt.split_part(text, "'::'", 1) -%}
    {%- set after = 'coalesce(' ~ dbt.split_part(text, "'::'", 2) ~ ", '')" -%}
    {%- set n_before = 'case when ' ~ before ~ " = '' then 0 else "
        ~ dbt.length(before) ~ ' - ' ~ dbt.length(dbt.replace(before, "':'", "''")) ~ ' + 1 end' -%}
    {%- set n_after = 'case when ' ~ after ~ " = '' then 0 else "
        ~ dbt.length(after) ~ ' - ' ~ dbt.length(dbt.replace(after, "':'", "''")) ~ ' + 1 end' -%}
    {#- an octet 0-255, leading zeros allowed -#}
    {%- set octet = '(0{0,2}[0-9]|0?[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5])' -%}
    case
        when {{ regex_matches(column, '^' ~ octet ~ '[.]' ~ octet ~ '[.]' ~ octet ~ '[.]' ~ octet ~ '$') }}
            then
            {%- for part in range(1, 5) %}
                cast(cast({{ dbt.split_part(column, "'.'", part) }} as {{ dbt.type_int() }}) as {{ dbt.type_string() }})
                {%- if not loop.last %} || '.' ||{% endif %}
            {%- endfor %}
        when {{ regex_matches(column, '^[0-9A-Fa-f:]+$') }} and {{ column }} like '%:%'
            then
            {%- for group in range(1, 5) %}
                coalesce(nullif(ltrim(case
                    when {{ group }} <= {{ n_before }} then {{ dbt.split_part(before, "':'", group) }}
                    {%- for count_after in range(9 - group, 8) %}
                    when {{ n_after }} = {{ count_after }} then {{ dbt.split_part(after, "':'", group - 8 + count_after) }}
                    {%- endfor %}
                    else '0'
                end, '0'), ''), '0') ||
            {%- if not loop.last %} ':' ||{% endif %}
            {%- endfor %} '::/64'
    end
{%- endmacro %}

{#- The keyed hash of one IP address (ip_address_key): rules match logins on the exact
    address, marts never hold it in clear (docs/reliability.md#security). -#}
{% macro hash_ip(column) -%}
    {{ hmac_sha256(ip_address_key(column)) }}
{%- endmacro %}

{#- A regular-expression match on every target (pattern: a plain string, no quotes). -#}
{% macro regex_matches(expression, pattern) -%}
    {{ return(adapter.dispatch('regex_matches', 'crypto_exchange')(expression, pattern)) }}
{%- endmacro %}

{% macro default__regex_matches(expression, pattern) -%}
    regexp_matches({{ expression }}, '{{ pattern }}')
{%- endmacro %}

{% macro postgres__regex_matches(expression, pattern) -%}
    ({{ expression }} ~ '{{ pattern }}')
{%- endmacro %}

{% macro bigquery__regex_matches(expression, pattern) -%}
    regexp_contains({{ expression }}, r'{{ pattern }}')
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
    IP-like value truncated: /24 for IPv4, /48 for IPv6 (docs/reliability.md#security: no clear e-mail or IP
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
