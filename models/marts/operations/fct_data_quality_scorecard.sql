-- One row per dbt invocation that ran data tests: the share of tests passing, and the data
-- accuracy of the design document's success criterion (doc block data_accuracy_rate): of the
-- records landed before the invocation started, the share neither quarantined by the loaders
-- nor returned by a failing or warning data test of the invocation. A record returned by two
-- tests counts twice, so the figure is a lower bound. A view: it shows the invocation that
-- built it as soon as that invocation ends (its on-run-end hook records the results).
{{ config(materialized='view') }}

with

run_results as (

    select * from {{ ref('stg_ops__dbt_run_results') }}

),

loaded_files as (

    select * from {{ ref('stg_loader__loaded_files') }}

),

invocations as (

    select
        invocation_id,
        min(dbt_command) as dbt_command,
        min(target_name) as target_name,
        min(run_started_at) as run_started_at,
        max(completed_at) as completed_at,
        sum(case when resource_type = 'test' and node_status <> 'skipped' then 1 else 0 end) as tests_run,
        sum(case when resource_type = 'test' and node_status = 'pass' then 1 else 0 end) as tests_passed,
        sum(case when resource_type = 'test' and node_status = 'warn' then 1 else 0 end) as tests_warned,
        sum(case when resource_type = 'test' and node_status in ('fail', 'error') then 1 else 0 end) as tests_failed,
        sum(case when resource_type = 'test' and node_status = 'skipped' then 1 else 0 end) as tests_skipped,
        sum(
            case
                when resource_type = 'test' and node_status in ('warn', 'fail') then coalesce(test_failures, 0) else 0
            end
        ) as failing_records,
        sum(case when resource_type = 'unit_test' and node_status <> 'skipped' then 1 else 0 end) as unit_tests_run,
        sum(case when resource_type = 'unit_test' and node_status = 'pass' then 1 else 0 end) as unit_tests_passed
    from run_results
    group by invocation_id

),

landed as (

    select
        invocations.invocation_id,
        coalesce(sum(loaded_files.rows_loaded), 0) as records_loaded,
        coalesce(sum(loaded_files.rows_quarantined), 0) as records_quarantined
    from invocations
    left join loaded_files
        on invocations.run_started_at >= loaded_files.loaded_at
    group by invocations.invocation_id

),

measured as (

    select
        invocations.*,
        landed.records_loaded + landed.records_quarantined as records_landed,
        landed.records_quarantined,
        -- a test's failing rows may outnumber the records (e.g. rows of a join): cap them
        case
            when invocations.failing_records > landed.records_loaded then landed.records_loaded
            else invocations.failing_records
        end as records_failing_tests
    from invocations
    inner join landed
        on invocations.invocation_id = landed.invocation_id
    where invocations.tests_run > 0

),

-- Counts as bigint (a sum of integers is HUGEINT on DuckDB and NUMERIC on PostgreSQL): the
-- types of the contract (the model's YAML).
final as (

    select
        invocation_id,
        dbt_command,
        target_name,
        run_started_at,
        completed_at,
        cast(tests_run as {{ dbt.type_bigint() }}) as tests_run,
        cast(tests_passed as {{ dbt.type_bigint() }}) as tests_passed,
        cast(tests_warned as {{ dbt.type_bigint() }}) as tests_warned,
        cast(tests_failed as {{ dbt.type_bigint() }}) as tests_failed,
        cast(tests_skipped as {{ dbt.type_bigint() }}) as tests_skipped,
        {{ safe_divide('tests_passed', 'tests_run') }} as test_pass_rate,
        cast(unit_tests_run as {{ dbt.type_bigint() }}) as unit_tests_run,
        cast(unit_tests_passed as {{ dbt.type_bigint() }}) as unit_tests_passed,
        cast(records_landed as {{ dbt.type_bigint() }}) as records_landed,
        cast(records_quarantined as {{ dbt.type_bigint() }}) as records_quarantined,
        cast(failing_records as {{ dbt.type_bigint() }}) as failing_records,
        cast(records_failing_tests as {{ dbt.type_bigint() }}) as records_failing_tests,
        {{ safe_divide('records_landed - records_quarantined', 'records_landed') }} as record_validity_rate,
        {{ safe_divide('records_landed - records_quarantined - records_failing_tests', 'records_landed') }}
            as data_accuracy_rate,
        cast({{ var('data_accuracy_target') }} as {{ type_double() }}) as data_accuracy_target,
        coalesce(
            {{ safe_divide('records_landed - records_quarantined - records_failing_tests', 'records_landed') }}
            >= {{ var('data_accuracy_target') }},
            false
        ) as meets_accuracy_target
    from measured

)

select * from final
