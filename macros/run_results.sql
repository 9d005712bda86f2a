{#- dbt run results, recorded by the warehouse itself (the pipeline run and data-quality marts in
    models/marts/operations read them through the `pipeline` source).

    ensure_run_results_table(): on-run-start. Creates the `ops` schema (var `ops_schema`) and
    the table `dbt_run_results` when missing, so the models that read it build on a fresh
    warehouse too (they then see no runs, or only the runs before this one).

    record_run_results(results): on-run-end. One row per node that the command executed
    (model, seed, snapshot, data test, unit test): its status, execution time, rows affected
    (as the adapter reports them: NULL where it does not), test failures and timings. Only
    commands that execute nodes are recorded (build, run, test, seed, snapshot, retry);
    compile, docs and parse are not. Text is stripped of quotes and backslashes instead of
    escaped, because the three targets escape differently (messages are only informational).
    Inserts go in chunks of 100 rows so a large project never builds one huge statement. -#}

{% macro run_results_commands() -%}
    {{ return(('build', 'run', 'test', 'seed', 'snapshot', 'retry')) }}
{%- endmacro %}

{% macro run_results_relation() -%}
    {{ return(api.Relation.create(
        database=target.database,
        schema=var('ops_schema', 'ops'),
        identifier='dbt_run_results',
    )) }}
{%- endmacro %}

{% macro ensure_run_results_table() -%}
    {%- set relation = run_results_relation() -%}
    {%- set schema_relation = api.Relation.create(database=relation.database, schema=relation.schema) -%}
    {#- only commands that run nodes: `dbt compile` for BigQuery offline must send no query -#}
    {%- if execute and flags.WHICH in run_results_commands() -%}
        {%- do adapter.create_schema(schema_relation) -%}
        {%- do run_query(
            'create table if not exists ' ~ relation ~ ' (\n'
            ~ '    invocation_id ' ~ dbt.type_string() ~ ',\n'
            ~ '    dbt_command ' ~ dbt.type_string() ~ ',\n'
            ~ '    target_name ' ~ dbt.type_string() ~ ',\n'
            ~ '    run_started_at ' ~ dbt.type_timestamp() ~ ',\n'
            ~ '    node_unique_id ' ~ dbt.type_string() ~ ',\n'
            ~ '    node_name ' ~ dbt.type_string() ~ ',\n'
            ~ '    resource_type ' ~ dbt.type_string() ~ ',\n'
            ~ '    node_layer ' ~ dbt.type_string() ~ ',\n'
            ~ '    status ' ~ dbt.type_string() ~ ',\n'
            ~ '    execution_seconds ' ~ type_double() ~ ',\n'
            ~ '    rows_affected ' ~ dbt.type_bigint() ~ ',\n'
            ~ '    failures ' ~ dbt.type_bigint() ~ ',\n'
            ~ '    message ' ~ dbt.type_string() ~ ',\n'
            ~ '    started_at ' ~ dbt.type_timestamp() ~ ',\n'
            ~ '    completed_at ' ~ dbt.type_timestamp() ~ ',\n'
            ~ '    recorded_at ' ~ dbt.type_timestamp() ~ '\n'
            ~ ')'
        ) -%}
    {%- endif -%}
    select 1 as run_results_table_ready
{%- endmacro %}

{% macro _run_results_text(value, length=500) -%}
    {%- if value is none -%}null{%- else -%}
    '{{ (value | string)[:length] | replace("'", "") | replace("\\", "/") | replace("\n", " ") }}'
    {%- endif -%}
{%- endmacro %}

{% macro _run_results_timestamp(value) -%}
    {%- if value is none -%}null{%- else -%}
    cast('{{ value.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }})
    {%- endif -%}
{%- endmacro %}

{% macro _run_results_number(value, type) -%}
    {%- if value is none or value is string -%}null{%- else -%}cast({{ value }} as {{ type }}){%- endif -%}
{%- endmacro %}

{% macro record_run_results(results) -%}
    {%- if execute and flags.WHICH in run_results_commands() and results -%}
        {%- set relation = run_results_relation() -%}
        {%- set recorded_at = modules.datetime.datetime.utcnow() -%}
        {%- set rows = [] -%}
        {%- for result in results -%}
            {%- set node = result.node -%}
            {%- set started = [] -%}
            {%- set completed = [] -%}
            {%- for timing in (result.timing or []) -%}
                {%- if timing.started_at %}{% do started.append(timing.started_at) %}{% endif -%}
                {%- if timing.completed_at %}{% do completed.append(timing.completed_at) %}{% endif -%}
            {%- endfor -%}
            {%- set response = result.adapter_response or {} -%}
            {%- set rows_affected = response.get('rows_affected') -%}
            {%- if rows_affected is not none and rows_affected is not string and rows_affected < 0 -%}
                {%- set rows_affected = none -%}
            {%- endif -%}
            {%- set layer = node.fqn[1] if node.resource_type == 'model' and node.fqn | length > 2 else none -%}
            {%- do rows.append(
                '(' ~ _run_results_text(invocation_id) ~ ', '
                ~ _run_results_text(flags.WHICH) ~ ', '
                ~ _run_results_text(target.name) ~ ', '
                ~ _run_results_timestamp(run_started_at) ~ ', '
                ~ _run_results_text(node.unique_id) ~ ', '
                ~ _run_results_text(node.name) ~ ', '
                ~ _run_results_text(node.resource_type) ~ ', '
                ~ _run_results_text(layer) ~ ', '
                ~ _run_results_text(result.status) ~ ', '
                ~ _run_results_number(result.execution_time, type_double()) ~ ', '
                ~ _run_results_number(rows_affected, dbt.type_bigint()) ~ ', '
                ~ _run_results_number(result.failures, dbt.type_bigint()) ~ ', '
                ~ _run_results_text(result.message) ~ ', '
                ~ _run_results_timestamp(started | min if started else none) ~ ', '
                ~ _run_results_timestamp(completed | max if completed else none) ~ ', '
                ~ _run_results_timestamp(recorded_at) ~ ')'
            ) -%}
        {%- endfor -%}
        {%- for chunk in rows | batch(100) -%}
            {%- do run_query('insert into ' ~ relation ~ ' values\n' ~ chunk | join(',\n')) -%}
        {%- endfor -%}
    {%- endif -%}
    select 1 as run_results_recorded
{%- endmacro %}
