{#- Small cross-database helpers that dbt's built-in macros do not cover. -#}

{#- A 64-bit float type (dbt.type_float() is a 4-byte REAL on DuckDB). -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'crypto_exchange')()) }}
{%- endmacro %}
{% macro default__type_double() %}double{% endmacro %}
{% macro postgres__type_double() %}double precision{% endmacro %}
{% macro bigquery__type_double() %}float64{% endmacro %}

{#- numerator / denominator as a float; NULL when the denominator is 0 or NULL. -#}
{% macro safe_divide(numerator, denominator) -%}
    case
        when {{ denominator }} is null or {{ denominator }} = 0 then null
        else cast({{ numerator }} as {{ type_double() }}) / {{ denominator }}
    end
{%- endmacro %}

{#- One row per step from start to end (both included), as a column `spine_at`, from a
    one-row relation holding the bounds. Step: 'hour' or 'day'. Every spine is bounded by the
    plausible range of event times (docs/landing_contract.md#event-time-range): from var('plausible_min_date') to
    var('plausible_max_future_days') after now, so one row dated 9999 that reached raw by any
    path cannot grow a spine to millions of rows (issue 18: 629M hourly rates). -#}
{% macro time_spine(bounds_relation, start_column, end_column, step) -%}
    {{ return(adapter.dispatch('time_spine', 'crypto_exchange')(bounds_relation, start_column, end_column, step)) }}
{%- endmacro %}

{#- The bounds of time_spine: a spine's start and end clamped to the plausible range. -#}
{% macro plausible_spine_start(start_column) -%}
    greatest(cast({{ start_column }} as timestamp), cast('{{ var("plausible_min_date") }}' as timestamp))
{%- endmacro %}

{% macro plausible_spine_end(end_column) -%}
    least(
        cast({{ end_column }} as timestamp),
        cast({{ dbt.dateadd('day', var('plausible_max_future_days'), dbt.current_timestamp()) }} as timestamp)
    )
{%- endmacro %}

{% macro default__time_spine(bounds_relation, start_column, end_column, step) -%}
    select unnest(generate_series(
        {{ plausible_spine_start(start_column) }}, {{ plausible_spine_end(end_column) }}, interval '1 {{ step }}'
    )) as spine_at
    from {{ bounds_relation }}
    where {{ start_column }} is not null
{%- endmacro %}

{% macro postgres__time_spine(bounds_relation, start_column, end_column, step) -%}
    select generate_series(
        {{ plausible_spine_start(start_column) }}, {{ plausible_spine_end(end_column) }}, interval '1 {{ step }}'
    ) as spine_at
    from {{ bounds_relation }}
    where {{ start_column }} is not null
{%- endmacro %}

{% macro bigquery__time_spine(bounds_relation, start_column, end_column, step) -%}
    select spine_at
    from {{ bounds_relation }},
        unnest(generate_timestamp_array(
            {{ plausible_spine_start(start_column) }}, {{ plausible_spine_end(end_column) }}, interval 1 {{ step }}
        )) as spine_at
    where {{ start_column }} is not null
{%- endmacro %}

{#- The UTC calendar day of a timestamp. -#}
{% macro to_day(timestamp_expression) -%}
    cast({{ timestamp_expression }} as date)
{%- endmacro %}

{#- A 64-bit integer key of a text value, to carry through a sort in its place (an integer is
    far cheaper to sort and move than a string). Not unique: two values may share a key, so a
    model that finds rows again by it also compares what else it knows of them. BigQuery keeps
    the text itself: the key saves this machine's sort its spill, which BigQuery's slots do not
    share, and FARM_FINGERPRINT, the one to use there, is a function the BigQuery emulator the
    tests run (docs/bigquery.md) cannot run. -#}
{% macro row_key(text_expression) -%}
    {{ return(adapter.dispatch('row_key', 'crypto_exchange')(text_expression)) }}
{%- endmacro %}
{% macro default__row_key(text_expression) %}hash({{ text_expression }}){% endmacro %}
{% macro postgres__row_key(text_expression) %}hashtextextended({{ text_expression }}, 0){% endmacro %}
{% macro bigquery__row_key(text_expression) %}{{ text_expression }}{% endmacro %}

{#- `with source as {{ not_materialized() }} (...)`: a CTE read more than once is computed once
    and stored by DuckDB (its default) and may be by PostgreSQL; for a filter of a large raw
    table, reading the table again (only the columns each reference needs) is far cheaper than
    writing a copy of it to the temp directory. BigQuery inlines CTEs anyway. -#}
{% macro not_materialized() -%}
    {{ '' if target.type == 'bigquery' else 'not materialized' }}
{%- endmacro %}

{#- `{{ config(pre_hook=postgres_hash_joins()) }}`: on PostgreSQL, a model whose joins read
    staging views that pick one version per key (a window, then `version_rank = 1`) gets row
    estimates of about one, and the planner then loops: `fct_external_price_deviations_hourly`
    ran a nested loop over 583 million row pairs, 210 s at `small`, and 0.3 s with hash joins
    (docs/targets.md). Nested loops are turned off for that model's transaction only (`set
    local`); the other targets get no hook. -#}
{% macro postgres_hash_joins() -%}
    {{ 'set local enable_nestloop = off' if target.type == 'postgres' else '' }}
{%- endmacro %}

{#- `with small as {{ materialized_once() }} (...)`: the opposite, for a small result of an expensive
    step (a window over a whole ledger) that later CTEs read several times: computed once.
    DuckDB would otherwise inline it into each reader and store the expensive step's whole
    input instead. BigQuery has no such keyword. -#}
{% macro materialized_once() -%}
    {{ '' if target.type == 'bigquery' else 'materialized' }}
{%- endmacro %}

{#- `with source as {{ staged_source() }} (...)`: the source CTE of an incremental staging
    model, which latest_version reads three times. A full build: the whole raw table, read
    again by each reference (not_materialized). An incremental run: the rows of the keys loaded
    since the last run, a day's worth, computed once (materialized_once); inlined, each of the
    three references would look the keys up in the whole raw table again (at `medium`, the
    day's dbt run took 7.0 to 7.5 s inlined, 5.7 to 6.0 s computed once). -#}
{% macro staged_source() -%}
    {{ materialized_once() if is_incremental() else not_materialized() }}
{%- endmacro %}

{#- The last row of each group by `order_columns` (an aggregate over the group's rows),
    carrying `values` (a dict: name -> expression), selected `as alias`; an outer query reads
    each value with last_row_value(alias, name). The latest row of each group in one pass,
    without a self-join or a window. On DuckDB it is a single max() of one struct: per value an
    arg_max costs about three times as much (the wallet test at large: 38 s against 90 s).
    Order columns and values must be non-null (BigQuery's arrays cannot hold NULL). -#}
{% macro last_row(alias, values, order_columns) -%}
    {{ return(adapter.dispatch('last_row')(alias, values, order_columns)) }}
{%- endmacro %}

{% macro default__last_row(alias, values, order_columns) -%}
    {%- for name, expression in values.items() %}
    (array_agg({{ expression }} order by {{ order_columns | join(' desc, ') }} desc))[1] as {{ alias }}__{{ name }}
    {%- if not loop.last %},{% endif %}
    {%- endfor %}
{%- endmacro %}

{% macro duckdb__last_row(alias, values, order_columns) -%}
    {#- the order columns first, so the struct's max is the last row; a value that is an order
        column is carried once, under its name (each field more costs time at scale) -#}
    {%- set name_of = {} -%}
    {%- for name, expression in values.items() if expression not in name_of -%}
        {%- do name_of.update({expression: name}) -%}
    {%- endfor -%}
    {%- set fields = [] -%}
    {%- set carried = [] -%}
    {%- for column in order_columns -%}
        {%- set name = name_of.get(column, '__order_' ~ loop.index) -%}
        {%- do carried.append(name) -%}
        {%- do fields.append(name ~ ' := ' ~ column) -%}
    {%- endfor -%}
    {%- for name, expression in values.items() if name not in carried -%}
        {%- do fields.append(name ~ ' := ' ~ expression) -%}
    {%- endfor -%}
    max(struct_pack({{ fields | join(', ') }})) as {{ alias }}
{%- endmacro %}

{% macro bigquery__last_row(alias, values, order_columns) -%}
    array_agg(struct(
        {%- for name, expression in values.items() %}{{ expression }} as {{ name }}{% if not loop.last %}, {% endif %}{% endfor -%}
    ) order by {{ order_columns | join(' desc, ') }} desc limit 1)[offset(0)] as {{ alias }}
{%- endmacro %}

{#- One value of a last_row(alias, ...) aggregate. -#}
{% macro last_row_value(alias, name) -%}
    {{ return(adapter.dispatch('last_row_value')(alias, name)) }}
{%- endmacro %}

{% macro default__last_row_value(alias, name) -%}
    {{ alias }}__{{ name }}
{%- endmacro %}

{% macro duckdb__last_row_value(alias, name) -%}
    struct_extract({{ alias }}, '{{ name }}')
{%- endmacro %}

{% macro bigquery__last_row_value(alias, name) -%}
    {{ alias }}.{{ name }}
{%- endmacro %}
