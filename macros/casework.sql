{#- Alert case management (issue 17 item 6; docs: models/marts/compliance/_compliance__docs.md,
    doc block compliance_casework): analysts' decisions on alerts, recorded by
    `python -m compliance review` (compliance/casework.py) in the table
    casework.alert_case_events. dbt never builds, replaces or drops it: it is a source
    (models/staging/casework), so it survives every `dbt build` and `--full-refresh`.

    ensure_casework_tables(): on-run-start. Creates the `casework` schema (a fixed name: the
    review command writes there too) and the append-only audit trail alert_case_events when missing, so a
    fresh warehouse builds (no decisions yet) and the review command finds its table.
    `create table if not exists` never touches an existing table or its rows. -#}

{% macro casework_relation() -%}
    {{ return(api.Relation.create(
        database=target.database,
        schema='casework',
        identifier='alert_case_events',
    )) }}
{%- endmacro %}

{% macro ensure_casework_tables() -%}
    {%- set relation = casework_relation() -%}
    {%- set schema_relation = api.Relation.create(database=relation.database, schema=relation.schema) -%}
    {#- only commands that run nodes (and run-operation): `dbt compile` for BigQuery offline
        must send no query -#}
    {%- if execute and flags.WHICH in run_results_commands() + ('run-operation',) -%}
        {%- do adapter.create_schema(schema_relation) -%}
        {%- do run_query(
            'create table if not exists ' ~ relation ~ ' (\n'
            ~ '    alert_id ' ~ dbt.type_string() ~ ' not null,\n'
            ~ '    event_number ' ~ dbt.type_int() ~ ' not null,\n'
            ~ '    changed_at ' ~ dbt.type_timestamp() ~ ' not null,\n'
            ~ '    changed_by ' ~ dbt.type_string() ~ ' not null,\n'
            ~ '    status_from ' ~ dbt.type_string() ~ ',\n'
            ~ '    status_to ' ~ dbt.type_string() ~ ' not null,\n'
            ~ '    disposition_from ' ~ dbt.type_string() ~ ',\n'
            ~ '    disposition_to ' ~ dbt.type_string() ~ ',\n'
            ~ '    assignee_from ' ~ dbt.type_string() ~ ',\n'
            ~ '    assignee_to ' ~ dbt.type_string() ~ ',\n'
            ~ '    note ' ~ dbt.type_string()
            ~ casework_primary_key()
            ~ '\n)'
        ) -%}
    {%- endif -%}
    select 1 as casework_tables_ready
{%- endmacro %}

{#- One event number per alert, 1, 2, 3...: the order of an alert's decisions, enforced where
    the warehouse can (BigQuery has no enforced keys). -#}
{% macro casework_primary_key() -%}
    {{ return(adapter.dispatch('casework_primary_key', 'crypto_exchange')()) }}
{%- endmacro %}

{% macro default__casework_primary_key() -%}
    {{ return(',\n    primary key (alert_id, event_number)') }}
{%- endmacro %}

{% macro bigquery__casework_primary_key() -%}
    {{ return('') }}
{%- endmacro %}
