{#- Which rows an incremental model (re)builds in this run.

    - A plain incremental run: every row loaded since the newest row already in the table,
      minus `lookback_hours`, whatever its event time, so late data still lands
      (docs/reliability.md#late-data) and the cost grows with the new data, not with history.
    - A partitioned run (orchestration passes vars min_date / max_date) on a built table: the
      rows whose event time falls in [min_date, max_date), so a backfill of a range is one dbt
      invocation, AND the rows a plain run would read. Without the second half, the window's
      rows would move the watermark past rows loaded earlier for other days and not built yet
      (a late file loaded at 03:00, a backfill at 09:00): no later plain run would read them.
    - A full build, or a partitioned run on a table not built yet: everything. A table holding
      only the window would have a watermark past every row of the other days.
-#}
{% macro incremental_window(event_time_column, loaded_at_column='loaded_at') -%}
    {%- if is_incremental() and is_partitioned_run() -%}
        (
            ({{ event_time_column }} >= cast('{{ var("min_date") }}' as timestamp)
                and {{ event_time_column }} < cast('{{ var("max_date") }}' as timestamp))
            or {{ loaded_at_column }} > {{ incremental_watermark(loaded_at_column) }}
        )
    {%- elif is_incremental() -%}
        {{ loaded_at_column }} > {{ incremental_watermark(loaded_at_column) }}
    {%- else -%}
        1 = 1
    {%- endif -%}
{%- endmacro %}

{#- True when orchestration passed a partition window (vars min_date / max_date). -#}
{% macro is_partitioned_run() -%}
    {{ return(var('min_date') != '1970-01-01' or var('max_date') != '2999-12-31') }}
{%- endmacro %}

{#- The newest `loaded_at_column` already in this model's table, minus `lookback_hours`:
    rows loaded after it are new. An empty table gives the epoch, so everything is new; so
    does a table built before the model had that column (a warehouse built by an older
    version of the project), which on_schema_change then adds. Not on BigQuery, where the
    project is only compiled offline (scripts/check_bigquery_sql.py asks no metadata): there,
    an older table needs one `--full-refresh`. -#}
{% macro incremental_watermark(loaded_at_column='loaded_at') -%}
    {%- set column_names = [] -%}
    {#- in a unit test `this` is the name of the fixture, a string: nothing to inspect -#}
    {%- if execute and is_incremental() and target.type != 'bigquery' and this is not string -%}
        {%- for column in adapter.get_columns_in_relation(this) -%}
            {%- do column_names.append(column.name | lower) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if column_names and loaded_at_column | lower not in column_names -%}
        cast('1970-01-01 00:00:00' as timestamp)
    {%- else -%}
    (
        select
            coalesce(
                {{ dbt.dateadd('hour', -1 * var('lookback_hours'), 'max(' ~ loaded_at_column ~ ')') }},
                cast('1970-01-01 00:00:00' as timestamp)
            )
        from {{ this }}
    )
    {%- endif -%}
{%- endmacro %}

{#- delete+insert on DuckDB and PostgreSQL; merge on BigQuery. -#}
{% macro incremental_strategy() -%}
    {{ return('merge' if target.type == 'bigquery' else 'delete+insert') }}
{%- endmacro %}

{#- For the staging of a versioned source (orders, wallets): the raw rows of every key that
    has a row loaded since the last run (less the lookback). Ranking all the versions of those
    keys, not the new rows alone, keeps what a full refresh keeps when a late file brings an
    older version than the stored one. -#}
{% macro has_versions_loaded_since_last_run(key_column, raw_relation) -%}
    {{ key_column }} in (
        select {{ key_column }} from {{ raw_relation }}
        where _loaded_at > {{ incremental_watermark('loaded_at') }}
    )
{%- endmacro %}
