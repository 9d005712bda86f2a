{#- Which rows an incremental model (re)builds in this run.

    - A partitioned run (orchestration passes vars min_date / max_date): the rows whose event
      time falls in [min_date, max_date), so a backfill of a range is one dbt invocation.
    - A plain incremental run: every row loaded since the newest row already in the table,
      minus `lookback_hours`, whatever its event time, so late data still lands
      (SPEC section 9) and the cost grows with the new data, not with history.
    - A full build: everything.
-#}
{% macro incremental_window(event_time_column, loaded_at_column='loaded_at') -%}
    {%- if var('min_date') != '1970-01-01' or var('max_date') != '2999-12-31' -%}
        {{ event_time_column }} >= cast('{{ var("min_date") }}' as timestamp)
        and {{ event_time_column }} < cast('{{ var("max_date") }}' as timestamp)
    {%- elif is_incremental() -%}
        {{ loaded_at_column }} > (
            select {{ dbt.dateadd('hour', -1 * var('lookback_hours'), 'max(' ~ loaded_at_column ~ ')') }}
            from {{ this }}
        )
    {%- else -%}
        1 = 1
    {%- endif -%}
{%- endmacro %}

{#- delete+insert on DuckDB and PostgreSQL; merge on BigQuery. -#}
{% macro incremental_strategy() -%}
    {{ return('merge' if target.type == 'bigquery' else 'delete+insert') }}
{%- endmacro %}
