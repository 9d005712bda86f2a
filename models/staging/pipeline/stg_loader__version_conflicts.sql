-- Every version conflict in the raw schema (docs/landing_contract.md#keys-and-versions): rows of
-- one key with the same version (by the table's rule, ingestion/contract.py) but different values,
-- from any loader, within one file or across files; one row per key and version
-- (macros/version_conflicts.sql). latest_version keeps one of them by the same rule: the row loaded
-- last.
--
-- A table: it reads every raw table, and its tests and fct_source_version_conflicts would each
-- read them again through a view (at `medium`, 18 s for the five tests and the mart; now 6.8 s
-- for the table, 0.2 s for the tests).
{{ config(materialized='table') }}

with

{#- the dbt source each raw table is declared in (default: exchange) -#}
{%- set source_of = {'external_prices': 'market_feeds', 'marketing_campaigns': 'crm'} %}

conflicts as (

    {% for table in version_rules() %}
        select *
        from (
            {{ version_conflicts(source(source_of.get(table, 'exchange'), table), table) }}
        ) as {{ table }}_conflicts
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from conflicts
