{#- The version conflicts of one raw table (docs/landing_contract.md#keys-and-versions): groups of
    rows with the same key, the same version timestamp and the same status rank (its version_rules() rule) whose
    values differ, within one file or across files, whichever loader wrote them. One row per
    group: the key (as text, columns joined with '|'), the version, how many rows, the files,
    the columns that differ, and the row latest_version keeps (the one loaded last; for a
    `first_seen` table the content first loaded last). Exact duplicates (replays) are no
    conflict.

    Cost: one hash aggregate of raw by key, version and status (the groups of more than one
    row; on DuckDB of a 64-bit hash of them), then raw is read again and only those groups' rows
    are compared, column by column, with min() <> max() and a NULL count: no sort of the table,
    no stored copy of it. -#}
{% macro version_conflicts(relation, table) -%}
    {%- set rule = version_rules()[table] -%}
    {%- set keys = [] -%}
    {%- for key in rule.key %}{% do keys.append(adapter.quote(key)) %}{% endfor -%}
    {%- set version_at = version_at_sql(rule) if rule.timestamps else 'cast(null as ' ~ dbt.type_timestamp() ~ ')' -%}
    {%- set status_rank = status_rank_sql(rule) if rule.status_column else '0' -%}
    {%- set no_version = "cast('1900-01-01 00:00:00' as " ~ dbt.type_timestamp() ~ ")" %}
    with

    -- read twice: never a stored copy of the raw table (macros/cross_database.sql)
    versioned as {{ not_materialized() }} (

        select
            {%- for column in rule.columns %}
            {{ adapter.quote(column[0]) }},
            {%- endfor %}
            {{ version_at }} as _version_at,
            {{ status_rank }} as _status_rank,
            _source_file,
            _row_number,
            _loaded_at
        from {{ relation }}

    ),

    {%- set group_columns = keys + ['coalesce(_version_at, ' ~ no_version ~ ')', '_status_rank'] %}

    -- The groups of more than one row. On DuckDB a 64-bit hash of each group's key, version and
    -- status is grouped, not the values themselves (at `large`, 8.6 s against 17.5 s for the
    -- ledger): a rare collision only adds rows whose own group holds one row, which never differs
    -- and is left out at the end.
    repeated as (

        select
            {%- if target.type == 'duckdb' %}
            hash({{ group_columns | join(', ') }}) as _group_hash
            {%- else %}
            {{ keys | join(', ') }},
            coalesce(_version_at, {{ no_version }}) as _version_key,
            _status_rank
            {%- endif %}
        from versioned
        group by {{ '1' if target.type == 'duckdb' else group_columns | join(', ') }}
        having count(*) > 1

    ),

    candidate_rows as (

        select
            versioned.*,
            coalesce(versioned._version_at, {{ no_version }}) as _version_key
        from versioned
        {%- if target.type == 'duckdb' %}
        where hash({{ group_columns | join(', ') }}) in (select repeated._group_hash from repeated)
        {%- else %}
        inner join repeated
            on {% for key in keys %}versioned.{{ key }} = repeated.{{ key }} and {% endfor -%}
            coalesce(versioned._version_at, {{ no_version }}) = repeated._version_key
            and versioned._status_rank = repeated._status_rank
        {%- endif %}

    ),

    ordered as (

        select
            *,
            row_number() over (
                partition by {{ keys | join(', ') }}, _version_key, _status_rank
                order by
                    {% if rule.first_seen %}_first_loaded_at desc,{% endif %}
                    _loaded_at desc, _source_file desc, _row_number desc
            ) as _keep_rank
        from (
            select
                *,
                {% if rule.first_seen -%}
                min(_loaded_at) over (
                    partition by {{ keys | join(', ') }}
                    {%- for column in rule.columns %}, {{ adapter.quote(column[0]) }}{% endfor %}
                ) as _first_loaded_at
                {%- else -%}
                _loaded_at as _first_loaded_at
                {%- endif %}
            from candidate_rows
        ) as seen

    ),

    compared as (

        select
            {{ keys | join(', ') }},
            _version_key,
            _status_rank,
            max(_version_at) as version_at,
            count(*) as conflicting_rows,
            count(distinct _source_file) as files,
            min(_loaded_at) as first_loaded_at,
            max(_loaded_at) as last_loaded_at,
            max(case when _keep_rank = 1 then _source_file end) as kept_source_file,
            max(case when _keep_rank = 1 then _row_number end) as kept_row_number,
            {{ dbt.concat(["''"] + _differing_columns(rule)) }} as differing_columns
        from ordered
        group by {{ keys | join(', ') }}, _version_key, _status_rank

    ),

    group_files as (

        select
            {{ keys | join(', ') }},
            _version_key,
            _status_rank,
            {{ dbt.listagg('_source_file', "', '", 'order by _source_file') }} as source_files
        from (
            select distinct {{ keys | join(', ') }}, _version_key, _status_rank, _source_file
            from candidate_rows
        ) as distinct_files
        group by {{ keys | join(', ') }}, _version_key, _status_rank

    )

    select
        '{{ table }}' as source_table,
        {{ dbt.concat(_key_text(keys)) }} as conflict_key,
        compared.version_at,
        compared._status_rank as status_rank,
        compared.conflicting_rows,
        compared.files,
        group_files.source_files,
        substr(compared.differing_columns, 3) as differing_columns,
        compared.kept_source_file,
        compared.kept_row_number,
        compared.first_loaded_at,
        compared.last_loaded_at
    from compared
    inner join group_files
        on {% for key in keys %}compared.{{ key }} = group_files.{{ key }} and {% endfor -%}
        compared._version_key = group_files._version_key
        and compared._status_rank = group_files._status_rank
    where compared.differing_columns <> ''
{%- endmacro %}

{#- Per contract column: ', <name>' when the group's rows differ in it (two values, or a value
    and a NULL), else ''. Booleans compare as integers (PostgreSQL has no min(boolean)). -#}
{% macro _differing_columns(rule) -%}
    {%- set parts = [] -%}
    {%- for name, type in rule.columns -%}
        {%- set column = adapter.quote(name) -%}
        {%- set value = 'cast(' ~ column ~ ' as ' ~ dbt.type_int() ~ ')' if type == 'boolean' else column -%}
        {%- do parts.append(
            "case when min(" ~ value ~ ") <> max(" ~ value ~ ") or (count(" ~ column
            ~ ") > 0 and count(" ~ column ~ ") < count(*)) then ', " ~ name ~ "' else '' end"
        ) -%}
    {%- endfor -%}
    {{ return(parts) }}
{%- endmacro %}

{#- The key columns as one text: each cast to text, joined with '|'. -#}
{% macro _key_text(keys) -%}
    {%- set parts = [] -%}
    {%- for key in keys -%}
        {%- if not loop.first %}{% do parts.append("'|'") %}{% endif -%}
        {%- do parts.append('cast(compared.' ~ key ~ ' as ' ~ dbt.type_string() ~ ')') -%}
    {%- endfor -%}
    {{ return(parts) }}
{%- endmacro %}
