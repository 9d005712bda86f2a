{#- Financial integrity (docs/reliability.md#financial-integrity): a broken invariant is reported
    loudly but never stops AML detection, the alert marts or the regulatory reports from being
    built.

    The tests tagged `financial_integrity` have severity `warn`: dbt build skips the children of
    a test that fails with severity error, and every compliance model reads the ledger those
    tests check. This on-run-end hook (dbt_project.yml, after record_run_results, so the run is
    recorded first) then fails the command, once everything is built, when any of them warned,
    failed or errored: `dbt build` and `dbt test` exit non-zero and name the tests.

    Under Dagster (dagster-dbt sets DAGSTER_DBT_CLI=true in dbt's environment), or with the
    environment variable EXCHANGE_FINANCIAL_INTEGRITY_FAIL_RUN=false, the hook only logs
    them: Dagster's runs (orchestration/assets/dbt.py), where the failed asset checks, the
    critical data-quality alerts sent to the webhook and the daily report carry the failure, and
    a failed dbt step would stop the steps after it from sending those alerts. -#}
{% macro fail_on_financial_integrity_failures(results) -%}
    {%- if execute and flags.WHICH in ('build', 'test', 'retry') and results -%}
        {%- set failed = [] -%}
        {%- for result in results -%}
            {%- if result.node.resource_type == 'test'
                and 'financial_integrity' in (result.node.tags or [])
                and result.status in ('warn', 'fail', 'error') -%}
                {%- do failed.append(result.node.name ~ ' (' ~ result.status ~ ', '
                    ~ (result.failures if result.failures is not none else 'no') ~ ' failing rows)') -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if failed -%}
            {%- set message = 'Financial integrity broken: ' ~ failed | join('; ')
                ~ '. The compliance marts were built; failing rows are stored in the test audit schema.' -%}
            {%- set fail_default = 'false' if env_var('DAGSTER_DBT_CLI', '') == 'true' else 'true' -%}
            {%- if env_var('EXCHANGE_FINANCIAL_INTEGRITY_FAIL_RUN', fail_default) | lower not in ('false', '0', 'no') -%}
                {{ exceptions.raise_compiler_error(message) }}
            {%- else -%}
                {{ log(message, info=true) }}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
    select 1 as financial_integrity_checked
{%- endmacro %}
