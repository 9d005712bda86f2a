{#- Deletes in the operational database (docs/deletes.md). The PostgreSQL extract lands the
    OLTP's tombstones in raw._deletions (ingestion/postgres/loader/extractor.py); a warehouse loaded
    from files only never gets any. ensure_deletions_table(): on-run-start, creates the table
    when missing (the same columns as the extractor's RAW_DELETIONS_DDL), so the source
    oltp.deletions always exists and staging builds everywhere.
    `create table if not exists` never touches an existing table or its rows. -#}

{% macro ensure_deletions_table() -%}
    {%- set relation = api.Relation.create(
        database=target.database, schema='raw', identifier='_deletions') -%}
    {%- set schema_relation = api.Relation.create(database=relation.database, schema=relation.schema) -%}
    {#- only commands that run nodes: `dbt compile` for BigQuery offline sends no query -#}
    {%- if execute and flags.WHICH in run_results_commands() + ('run-operation',) -%}
        {%- do adapter.create_schema(schema_relation) -%}
        {%- do run_query(
            'create table if not exists ' ~ relation ~ ' (\n'
            ~ '    deletion_id ' ~ dbt.type_bigint() ~ ',\n'
            ~ '    table_name ' ~ dbt.type_string() ~ ',\n'
            ~ '    row_key ' ~ dbt.type_string() ~ ',\n'
            ~ '    deleted_at ' ~ dbt.type_timestamp() ~ ',\n'
            ~ '    _source ' ~ dbt.type_string() ~ ',\n'
            ~ '    _load_id ' ~ dbt.type_string() ~ ',\n'
            ~ '    _loaded_at ' ~ dbt.type_timestamp()
            ~ '\n)'
        ) -%}
    {%- endif -%}
    select 1 as deletions_table_ready
{%- endmacro %}
