{#- dbt unit tests on PostgreSQL compare decimals by value, not by scale.

    A PostgreSQL numeric keeps the scale it was computed with: a model's max(price) over
    numeric(20,8) returns 101.00000000, while the expected row `open_price: 101` becomes
    101. dbt compares the two result sets as text, so every unit test with a decimal output
    failed on PostgreSQL while passing on DuckDB, whose DECIMAL(20,8) has one scale. This
    dispatch of dbt's get_unit_test_sql (same SQL as dbt's default) drops trailing zeros from
    the numeric columns on both sides with trim_scale() (PostgreSQL 13+). -#}
{% macro postgres__get_unit_test_sql(main_sql, expected_fixture_sql, expected_column_names) -%}
    {%- set numeric_columns = [] -%}
    {%- for column in get_column_schema_from_query(main_sql) -%}
        {%- if column.dtype | lower in ('decimal', 'numeric') -%}
            {%- do numeric_columns.append(column.name | lower) -%}
        {%- endif -%}
    {%- endfor -%}
select
    {% for column_name in expected_column_names -%}
    {%- if (column_name | replace('"', '') | lower) in numeric_columns -%}
    trim_scale({{ column_name }}) as {{ column_name }},
    {%- else -%}
    {{ column_name }},
    {%- endif %}
    {% endfor -%}
    {{ adapter.quote("actual_or_expected") }}
from (
{{ default__get_unit_test_sql(main_sql, expected_fixture_sql, expected_column_names) }}
) as dbt_internal_unit_test_rows
{%- endmacro %}
