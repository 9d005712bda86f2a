-- One row per pipeline run and stage: a loader run (load_id) per source table, a dbt
-- invocation per kind of node (model:<layer>, seed, snapshot, test, unit_test). Duration is
-- the work of the stage: the sum of its files' load_seconds or its nodes' execution time
-- (dbt runs nodes on several threads, so a stage's work can exceed its wall time).
-- A view: it shows the dbt invocation that built it too, as soon as that invocation ends.
{{ config(materialized='view') }}

with

loaded_files as (

    select * from {{ ref('stg_loader__loaded_files') }}

),

run_results as (

    select * from {{ ref('stg_ops__dbt_run_results') }}

),

load_stages as (

    select
        'load' as run_kind,
        load_id as pipeline_run_id,
        source_table as stage_name,
        min(loaded_at) as started_at,
        max(loaded_at) as completed_at,
        count(*) as units,
        sum(case when file_status = 'rejected' then 1 else 0 end) as units_failed,
        0 as units_warned,
        sum(rows_loaded + rows_quarantined) as rows_processed,
        sum(load_seconds) as work_seconds
    from loaded_files
    group by load_id, source_table

),

dbt_stages as (

    select
        'dbt' as run_kind,
        invocation_id as pipeline_run_id,
        case
            when resource_type = 'model' then {{ dbt.concat(["'model:'", "coalesce(node_layer, 'other')"]) }}
            else resource_type
        end as stage_name,
        min(started_at) as started_at,
        max(completed_at) as completed_at,
        count(*) as units,
        sum(case when node_status in ('error', 'fail') then 1 else 0 end) as units_failed,
        sum(case when node_status = 'warn' then 1 else 0 end) as units_warned,
        sum(rows_affected) as rows_processed,
        sum(execution_seconds) as work_seconds
    from run_results
    group by
        invocation_id,
        case
            when resource_type = 'model' then {{ dbt.concat(["'model:'", "coalesce(node_layer, 'other')"]) }}
            else resource_type
        end

),

unioned as (

    select * from load_stages
    union all
    select * from dbt_stages

),

final as (

    select
        run_kind,
        pipeline_run_id,
        stage_name,
        started_at,
        completed_at,
        units,
        units_failed,
        units_warned,
        rows_processed,
        cast(work_seconds as {{ type_double() }}) as work_seconds,
        {{ safe_divide('rows_processed', 'work_seconds') }} as rows_per_second
    from unioned

)

select * from final
