{#- What a target needs before the models run (the on-run-start hook in dbt_project.yml).

    PostgreSQL:
    - pgcrypto, for hmac() in macros/pii.sql (a trusted extension: the database owner may
      create it);
    - the read-only BI role (var `bi_reader_role`, default bi_reader; NOLOGIN unless it exists
      already: a team grants it to its BI tool's login) and USAGE on the schemas of the marts,
      so the SELECT grants that the marts get (`+grants` in dbt_project.yml) can be used. The
      role gets nothing on raw, staging or intermediate;
    - a clear error when the e-mail hashing key is not in the session: it comes from the
      environment, through libpq, never through the SQL text:
      PGOPTIONS="-c exchange.pii_hash_key=${DBT_ENV_SECRET_PII_HASH_KEY:-local-development-key-change-me}" dbt build --target postgres
    (unset, the development key of profiles.yml, as on DuckDB: the hashes of both targets agree)
    Other targets: nothing. -#}
{% macro prepare_target() -%}
    {{ return(adapter.dispatch('prepare_target', 'crypto_exchange')()) }}
{%- endmacro %}

{% macro default__prepare_target() -%}
    select 1 as nothing_to_prepare
{%- endmacro %}

{% macro postgres__prepare_target() -%}
    {%- set role = var('bi_reader_role', 'bi_reader') -%}
    {%- if execute and flags.WHICH in ('run', 'build') -%}
        {%- set key = run_query("select coalesce(current_setting('exchange.pii_hash_key', true), '') as key_is_set") -%}
        {%- if key.columns[0].values()[0] == '' -%}
            {{ exceptions.raise_compiler_error(
                "The PostgreSQL session has no e-mail hashing key (setting exchange.pii_hash_key). "
                ~ "Run dbt with PGOPTIONS=\"-c exchange.pii_hash_key=${DBT_ENV_SECRET_PII_HASH_KEY:-local-development-key-change-me}\" "
                ~ "(libpq sends it on every connection; it never appears in the SQL).") }}
        {%- endif -%}
    {%- endif -%}
    {%- set mart_schemas = [] -%}
    {%- for node in (graph.nodes.values() if execute else []) -%}
        {%- if node.resource_type == 'model' and node.fqn[1] == 'marts' and node.schema not in mart_schemas -%}
            {%- do mart_schemas.append(node.schema) -%}
        {%- endif -%}
    {%- endfor %}
    create extension if not exists pgcrypto;
    do $$
    begin
        if not exists (select from pg_roles where rolname = '{{ role }}') then
            create role {{ adapter.quote(role) }} nologin;
        end if;
    end
    $$;
    {% for schema in mart_schemas -%}
    create schema if not exists {{ adapter.quote(schema) }};
    grant usage on schema {{ adapter.quote(schema) }} to {{ adapter.quote(role) }};
    {% endfor %}
{%- endmacro %}
