{#- Keeps one row per key: the latest version of a mutable entity, and a single copy of a
    replayed row. Latest = highest version column (updated_at) where the source has one,
    then load order (loaded_at, file name, row number in the file): SPEC section 2. -#}
{% macro latest_version(relation, key_columns, version_column=none) -%}
    select *
    from (
        select
            *,
            row_number() over (
                partition by {{ key_columns | join(', ') }}
                order by
                    {% if version_column %}{{ version_column }} desc nulls last,{% endif %}
                    _loaded_at desc,
                    _source_file desc,
                    _row_number desc
            ) as version_rank
        from {{ relation }}
    ) as ranked
    where version_rank = 1
{%- endmacro %}
