{#- A continuous percentile as an aggregate: percentile_cont(expression, 0.95) in a select with
    `group by`. DuckDB and PostgreSQL interpolate between the two nearest values (the same
    result); BigQuery has no ordered-set aggregate, so it uses approx_quantiles with 1,000
    buckets (an approximation, exact enough for spreads in bps). -#}
{% macro percentile_cont(expression, fraction) -%}
    {{ return(adapter.dispatch('percentile_cont', 'crypto_exchange')(expression, fraction)) }}
{%- endmacro %}

{% macro default__percentile_cont(expression, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ expression }})
{%- endmacro %}

{% macro duckdb__percentile_cont(expression, fraction) -%}
    quantile_cont({{ expression }}, {{ fraction }})
{%- endmacro %}

{% macro postgres__percentile_cont(expression, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ expression }})
{%- endmacro %}

{% macro bigquery__percentile_cont(expression, fraction) -%}
    approx_quantiles({{ expression }}, 1000)[offset({{ (fraction * 1000) | round | int }})]
{%- endmacro %}
