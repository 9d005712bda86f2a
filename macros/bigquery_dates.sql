{#- dbt's date macros on BigQuery, made to agree with DuckDB and PostgreSQL.

    On BigQuery the project's timestamps are TIMESTAMP (UTC instants; docs/bigquery.md).
    - dbt-bigquery's dateadd returns DATETIME (datetime_add(cast(x as datetime), ...)) while
      its date_trunc returns TIMESTAMP, and BigQuery compares neither with the other: e.g.
      incremental_window()'s `loaded_at > dateadd(hour, -2, max(loaded_at))` would fail. Here
      dateadd returns TIMESTAMP: datetime_add (which, unlike timestamp_add, takes month and
      year) on the UTC DATETIME, cast back. DuckDB's dateadd returns TIMESTAMP too.
    - date_trunc('week') is Sunday-based on BigQuery, Monday-based (ISO) on DuckDB and
      PostgreSQL; ISOWEEK gives the same weeks everywhere (dim_dates.week_start_date, the
      weekly cohorts). -#}
{% macro bigquery__dateadd(datepart, interval, from_date_or_timestamp) -%}
    cast(datetime_add(cast({{ from_date_or_timestamp }} as datetime), interval {{ interval }} {{ datepart }}) as timestamp)
{%- endmacro %}

{% macro bigquery__date_trunc(datepart, date) -%}
    timestamp_trunc(cast({{ date }} as timestamp), {{ 'isoweek' if datepart | lower == 'week' else datepart }})
{%- endmacro %}
