{#- Seeds on BigQuery. The seeds' `column_types` are written once, in types DuckDB and
    PostgreSQL share (varchar, double precision, date...); BigQuery loads seeds through a load
    job whose schema wants its own type names, so this override of dbt-bigquery's
    bigquery__load_csv_rows translates them before the load (the rest is dbt-bigquery's code). -#}
{% macro bigquery_seed_type(data_type) -%}
    {%- set base = data_type | lower | trim -%}
    {%- set translations = {
        'varchar': 'STRING', 'text': 'STRING', 'string': 'STRING',
        'double': 'FLOAT64', 'double precision': 'FLOAT64', 'float': 'FLOAT64', 'real': 'FLOAT64',
        'integer': 'INT64', 'int': 'INT64', 'bigint': 'INT64', 'smallint': 'INT64',
        'boolean': 'BOOL', 'date': 'DATE', 'timestamp': 'TIMESTAMP',
    } -%}
    {%- if base.startswith('decimal') or base.startswith('numeric') -%}
        {{- return('NUMERIC') -}}
    {%- endif -%}
    {{- return(translations.get(base, data_type)) -}}
{%- endmacro %}

{% macro bigquery__load_csv_rows(model, agate_table) %}

  {%- set column_override = {} -%}
  {%- for name, data_type in model['config'].get('column_types', {}).items() -%}
    {%- do column_override.update({name: bigquery_seed_type(data_type)}) -%}
  {%- endfor -%}
  {{ adapter.load_dataframe(model['database'], model['schema'], model['alias'],
                            agate_table, column_override, model['config']['delimiter']) }}

  {% call statement() %}
    alter table {{ this.render() }} set {{ bigquery_table_options(config, model) }}
  {% endcall %}

  {% if config.persist_relation_docs() and 'description' in model %}
    {{ adapter.update_table_description(model['database'], model['schema'], model['alias'], model['description']) }}
  {% endif %}
{% endmacro %}
