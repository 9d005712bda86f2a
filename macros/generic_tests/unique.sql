{#- dbt's `unique` test on DuckDB (dbt dispatches test_unique to the root project first):
    the same failing rows, found by grouping a 64-bit hash of the value before the value
    itself. The primary keys of the ledger and the fills are strings of 85 M rows at `large`,
    and a hash table of strings that size spills; one of integers takes about a third less
    (docs/reliability.md#scale-and-speed). Only the hashes seen twice (true duplicates or
    rare collisions) are looked up again by their value, so the result is exact.
    PostgreSQL and BigQuery keep dbt's default. -#}
{% macro duckdb__test_unique(model, column_name) %}

with

repeated_hashes as (

    select hash({{ column_name }}) as value_hash
    from {{ model }}
    where {{ column_name }} is not null
    group by 1
    having count(*) > 1

)

select
    {{ column_name }} as unique_field,
    count(*) as n_records

from {{ model }}
where {{ column_name }} is not null
    and hash({{ column_name }}) in (select value_hash from repeated_hashes)
group by {{ column_name }}
having count(*) > 1

{% endmacro %}
