{#- Keeps one row per key: the latest version of a mutable entity, and a single copy of a
    replayed row. Latest = highest version column (updated_at) where the source has one,
    then load order (loaded_at, file name, row number in the file): SPEC section 2.

    `mostly_unique=true` is for the append-only event tables, where a key has one row unless
    a file was replayed: the keys that occur more than once are found first (a hash
    aggregate of the key alone, once), and only their rows are ranked; the others pass through
    without the sort that ranking every row costs (the largest cost of a full build at
    scale). Same rows either way; key columns are never NULL (the loader quarantines a row
    without its key). The relation is read three times: a table, or a CTE declared
    `as {{ not_materialized() }}`, never a stored copy. -#}
{% macro latest_version(relation, key_columns, version_column=none, mostly_unique=false) -%}
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
            {{ _version_rank(key_columns, version_column, relation) }} as version_rank
        from {{ relation }}
        inner join repeated
            on {{ _keys_match(relation, 'repeated', key_columns) }}
    ) as ranked
    where version_rank = 1
    {%- else %}
    select *
    from (
        select
            *,
            {{ _version_rank(key_columns, version_column) }} as version_rank
        from {{ relation }}
    ) as ranked
    where version_rank = 1
    {%- endif %}
{%- endmacro %}

{% macro _version_rank(key_columns, version_column, qualifier=none) -%}
    {%- set q = qualifier ~ '.' if qualifier else '' -%}
    row_number() over (
        partition by {% for key in key_columns %}{{ q ~ key }}{{ ', ' if not loop.last }}{% endfor %}
        order by
            {% if version_column %}{{ q ~ version_column }} desc nulls last,{% endif %}
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
