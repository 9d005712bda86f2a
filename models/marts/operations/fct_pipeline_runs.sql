-- One row per pipeline run: a loader run (load_id) or a dbt invocation. wall_seconds runs
-- from the first to the last recorded moment of the run (for a load: the first and the last
-- file's insert; for dbt: the first node's start to the last node's end); work_seconds adds
-- up the stages' work (fct_pipeline_run_stages). rows_per_second = rows_processed / the work
-- seconds of the stages that report rows. A view, like its stages.
{{ config(materialized='view') }}

with

stages as (

    select * from {{ ref('fct_pipeline_run_stages') }}

),

runs as (

    select
        run_kind,
        pipeline_run_id,
        min(started_at) as started_at,
        max(completed_at) as completed_at,
        count(*) as stages,
        sum(units) as units,
        sum(units_failed) as units_failed,
        sum(units_warned) as units_warned,
        sum(rows_processed) as rows_processed,
        sum(work_seconds) as work_seconds,
        -- the rate only over stages that report rows (dbt adapters may report none)
        sum(case when rows_processed is not null then work_seconds end) as counted_work_seconds
    from stages
    group by run_kind, pipeline_run_id

),

timed as (

    select
        *,
        {{ dbt.datediff('started_at', 'completed_at', 'millisecond') }} as wall_milliseconds  -- noqa: LT05
    from runs

),

final as (

    select
        run_kind,
        pipeline_run_id,
        started_at,
        completed_at,
        wall_milliseconds / 1000.0 as wall_seconds,
        work_seconds,
        stages,
        units,
        units_failed,
        units_warned,
        rows_processed,
        {{ safe_divide('rows_processed', 'counted_work_seconds') }} as rows_per_second,
        units_failed = 0 as is_successful
    from timed

)

select * from final
