{#- Data tests of a daily run read the recent rows only (docs/reliability.md#scale-and-speed: a
    daily run grows with the new data, not with history). With the var `test_days` (N; default none: every row),
    the tests of the large event models check only the rows of the model's last N UTC days:

    - generic tests (unique, not_null, accepted_values, relationships) on a model whose
      `meta` names its `test_window_column`, through get_where_subquery below;
    - the singular financial-integrity tests, through test_window_filter().

    The same vars every day keep dbt's partial parsing (a changed var re-parses everything).
    The daily full build (and a plain `dbt build`) leaves `test_days` unset: all history. -#}

{#- `column` (written `qualifier.column` where given) in the test window: the last `test_days`
    UTC days up to the newest `reference_column` (default: `column`) of `relation`. -#}
{% macro test_window_filter(column, relation, qualifier=none, reference_column=none) -%}
    {%- if var('test_days', none) -%}
        {{ qualifier ~ '.' if qualifier }}{{ column }} >= (
            select {{ dbt.dateadd('day', 1 - var('test_days') | int, dbt.date_trunc('day', 'max(' ~ (reference_column or column) ~ ')')) }}
            from {{ relation }}
        )
    {%- else -%}
        1 = 1
    {%- endif -%}
{%- endmacro %}

{#- dbt's get_where_subquery (the relation a generic test reads, narrowed by its `where`
    config), plus the test window of the model the test is attached to. -#}
{% macro get_where_subquery(relation) -%}
    {%- set filters = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do filters.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set window_column = tested_model_window_column() -%}
    {%- if window_column and var('test_days', none) -%}
        {%- do filters.append(test_window_filter(adapter.quote(window_column), relation)) -%}
    {%- endif -%}
    {%- if filters -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ filters | join(' and ') ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{#- The `meta.test_window_column` of the model a generic test is attached to, or none. -#}
{% macro tested_model_window_column() -%}
    {%- set attached = model.get('attached_node') if execute else none -%}
    {%- if attached and attached in graph.nodes -%}
        {%- do return(graph.nodes[attached].config.meta.get('test_window_column')) -%}
    {%- endif -%}
    {%- do return(none) -%}
{%- endmacro %}
