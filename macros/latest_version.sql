{#- Keeps one row per key: the latest version of a mutable entity, and a single copy of a
    replayed row, by the table's version rule (docs/landing_contract.md#keys-and-versions; `table` names it in
    version_rules(), generated from ingestion/contract.py): the greatest of its version
    timestamps, then its status precedence (a terminal status outranks pending or open), then
    load order (loaded_at, file name, row number in the file), which for a `first_seen` table
    is the first load of the row's content (an old export delivered again is not newer).
    Without `table`, `version_column` (or none) then load order. One window pass either way:
    the rule only adds terms to its order by (first_seen adds a window on the tiny tables that
    use it). Rows equal on version and status but different in value are reported by
    version_conflicts; the row kept is the one loaded last.

    `mostly_unique=true` is for the append-only event tables, where a key has one row unless
    a file was replayed: the keys that occur more than once are found first (a hash
    aggregate of the key alone, once), and only their rows are ranked; the others pass through
    without the sort that ranking every row costs (the largest cost of a full build at
    scale). Same rows either way; key columns are never NULL (the loader quarantines a row
    without its key). The relation is read three times: a table, or a CTE declared
    `as {{ staged_source() }}` (a large raw table is read again, not copied; an incremental
    run's few rows are computed once). -#}
{% macro latest_version(relation, key_columns, version_column=none, mostly_unique=false, table=none) -%}
    {%- set rule = version_rules()[table] if table else {
        'timestamps': [version_column] if version_column else [],
        'status_column': none, 'precedence': [], 'first_seen': false, 'columns': []} -%}
    {%- if mostly_unique and rule.first_seen -%}
        {{ exceptions.raise_compiler_error('latest_version: first_seen tables are ranked whole, not mostly_unique') }}
    {%- endif -%}
    {%- if mostly_unique %}
    with

    repeated as (

        select {{ key_columns | join(', ') }}
        from {{ relation }}
        group by {{ key_columns | join(', ') }}
        having count(*) > 1

    )

    select {{ relation }}.*, 1 as version_rank
    from {{ relation }}
    left join repeated
        on {{ _keys_match(relation, 'repeated', key_columns) }}
    where repeated.{{ key_columns[0] }} is null

    union all

    select *
    from (
        select
            {{ relation }}.*,
            {{ _version_rank(key_columns, rule, relation) }} as version_rank
        from {{ relation }}
        inner join repeated
            on {{ _keys_match(relation, 'repeated', key_columns) }}
    ) as ranked
    where version_rank = 1
    {%- elif rule.first_seen %}
    select *
    from (
        select
            *,
            {{ _version_rank(key_columns, rule) }} as version_rank
        from (
            select
                *,
                min(_loaded_at) over (
                    partition by {{ key_columns | join(', ') }}
                    {%- for column in rule.columns %}, {{ adapter.quote(column[0]) }}{% endfor %}
                ) as _first_loaded_at
            from {{ relation }}
        ) as seen
    ) as ranked
    where version_rank = 1
    {%- else %}
    select *
    from (
        select
            *,
            {{ _version_rank(key_columns, rule) }} as version_rank
        from {{ relation }}
    ) as ranked
    where version_rank = 1
    {%- endif %}
{%- endmacro %}

{% macro _version_rank(key_columns, rule, qualifier=none) -%}
    {%- set q = qualifier ~ '.' if qualifier else '' -%}
    row_number() over (
        partition by {% for key in key_columns %}{{ q ~ key }}{{ ', ' if not loop.last }}{% endfor %}
        order by
            {% if rule.timestamps %}{{ version_at_sql(rule, qualifier) }} desc nulls last,{% endif %}
            {% if rule.status_column %}{{ status_rank_sql(rule, qualifier) }} desc,{% endif %}
            {% if rule.first_seen %}{{ q }}_first_loaded_at desc,{% endif %}
            {{ q }}_loaded_at desc,
            {{ q }}_source_file desc,
            {{ q }}_row_number desc
    )
{%- endmacro %}

{% macro _keys_match(left, right, key_columns) -%}
    {%- for key in key_columns -%}
        {{ left }}.{{ key }} = {{ right }}.{{ key }}{{ ' and ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{#- The version timestamp of a row by its rule: the greatest of the rule's timestamps, NULLs
    ignored on every engine (BigQuery's greatest() is NULL when any argument is). -#}
{% macro version_at_sql(rule, qualifier=none) -%}
    {%- set q = qualifier ~ '.' if qualifier else '' -%}
    {%- set columns = [] -%}
    {%- for column in rule.timestamps %}{% do columns.append(q ~ adapter.quote(column)) %}{% endfor -%}
    {%- if columns | length == 1 -%}
        {{ columns[0] }}
    {%- else -%}
        greatest(
        {%- for i in range(columns | length) -%}
            coalesce({{ (columns[i:] + columns[:i]) | join(', ') }}){{ ', ' if not loop.last }}
        {%- endfor -%}
        )
    {%- endif -%}
{%- endmacro %}

{#- The rank of a row's status in its rule's precedence: 1 for the first (lowest) group, 2
    for the next...; 0 for NULL. -#}
{% macro status_rank_sql(rule, qualifier=none) -%}
    {%- set q = qualifier ~ '.' if qualifier else '' -%}
    case {{ q ~ adapter.quote(rule.status_column) }}
        {%- for group in rule.precedence %}
        {%- set rank = loop.index %}
        {%- for status in group %} when '{{ status }}' then {{ rank }}{% endfor %}
        {%- endfor %}
        else 0
    end
{%- endmacro %}
