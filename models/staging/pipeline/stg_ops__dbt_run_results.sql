with

source as (

    select * from {{ source('ops', 'dbt_run_results') }}

),

renamed as (

    select
        invocation_id,
        node_unique_id,
        dbt_command,
        target_name,
        run_started_at,
        node_name,
        resource_type,
        node_layer,
        status as node_status,
        execution_seconds,
        rows_affected,
        failures as test_failures,
        message,
        started_at,
        completed_at,
        recorded_at
    from source

)

select * from renamed
