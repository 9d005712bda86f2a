with

source as (

    select * from {{ source('exchange', 'system_metrics') }}

),

latest as (

    {{ latest_version('source', ['metric_id'], table='system_metrics') }}

),

renamed as (

    select
        metric_id,
        metric_type,
        value as metric_value,
        recorded_at,
        _loaded_at as loaded_at
    from latest

)

select * from renamed
