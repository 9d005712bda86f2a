{#- Whole-number text of a numeric expression, for reasons written from a user's figures
    (fct_next_best_actions). round() with one argument: PostgreSQL has no round(double, n). -#}
{% macro number_text(expression) -%}
    coalesce(cast(cast(round({{ expression }}) as {{ dbt.type_bigint() }}) as {{ dbt.type_string() }}), '0')
{%- endmacro %}
