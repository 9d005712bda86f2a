{#- Row counts in the dbt docs catalog (`make docs`): dbt-duckdb's catalog has column types but
    no table statistics. These override two of its catalog macros (dbt/include/duckdb/macros/
    catalog.sql, dbt-duckdb 1.11) to add `stats:row_count`, from duckdb_tables().estimated_size:
    the row count DuckDB keeps for every table (exact after a CREATE TABLE AS; views: none). -#}
{% macro duckdb__get_catalog_tables_sql(information_schema) -%}
    select *
    from (
        select
            t.database_name as table_database,
            t.schema_name as table_schema,
            t.table_name as table_name,
            'BASE TABLE' as table_type,
            t.comment as table_comment,
            t.estimated_size as row_count
        from duckdb_tables() t
        where upper(t.database_name) = upper('{{ information_schema.database }}')

        union all

        select
            v.database_name as table_database,
            v.schema_name as table_schema,
            v.view_name as table_name,
            'VIEW' as table_type,
            v.comment as table_comment,
            null as row_count
        from duckdb_views() v
        where upper(v.database_name) = upper('{{ information_schema.database }}')
    ) catalog_tables
{%- endmacro %}


{% macro duckdb__get_catalog_results_sql() -%}
    select
        tables.table_database,
        tables.table_schema,
        tables.table_name,
        tables.table_type,
        tables.table_comment,
        columns.column_name,
        columns.column_index,
        columns.column_type,
        columns.column_comment,
        null as table_owner,
        'Row count' as "stats:row_count:label",
        tables.row_count as "stats:row_count:value",
        'Rows in the table when the docs were generated' as "stats:row_count:description",
        (tables.row_count is not null) as "stats:row_count:include"
    from tables
    join columns using (table_database, table_schema, table_name)
    order by table_schema, table_name, column_index
{%- endmacro %}
