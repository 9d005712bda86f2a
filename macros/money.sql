{#- Money in the marts (docs/architecture.md, "Money"): USD amounts are DECIMAL(38, 9), nine
    decimal places (a billionth of a dollar) and 29 integer digits, the same type on every
    target: DuckDB and PostgreSQL decimal(38, 9), BigQuery NUMERIC (which is exactly (38, 9);
    a wider scale would not fit BigQuery's NUMERIC). Computations stay in double precision;
    a mart casts each amount once, in its final select. -#}
{% macro money(expression) -%}
    cast({{ expression }} as {{ type_money() }})
{%- endmacro %}

{% macro type_money() -%}
    {{ return(adapter.dispatch('type_money', 'crypto_exchange')()) }}
{%- endmacro %}
{% macro default__type_money() %}decimal(38, 9){% endmacro %}
{% macro bigquery__type_money() %}numeric{% endmacro %}
