-- One row per UTC day from the first to the last day of exchange activity (fills, orders,
-- fee collections). Every daily series joins to this spine, so quiet days show zeros.

with

activity_days as (

    select min(executed_at) as first_at, max(executed_at) as last_at from {{ ref('stg_exchange__trades') }}
    union all
    select min(placed_at), max(placed_at) from {{ ref('stg_exchange__orders') }}
    union all
    select min(collected_at), max(collected_at) from {{ ref('stg_exchange__fee_collections') }}

),

bounds as (

    select
        {{ dbt.date_trunc('day', 'min(first_at)') }} as first_day,
        {{ dbt.date_trunc('day', 'max(last_at)') }} as last_day
    from activity_days

),

days as (

    {{ time_spine('bounds', 'first_day', 'last_day', 'day') }}

),

final as (

    select
        {{ to_day('spine_at') }} as date_day,
        cast({{ dbt.date_trunc('week', 'spine_at') }} as date) as week_start_date,
        cast({{ dbt.date_trunc('month', 'spine_at') }} as date) as month_start_date,
        {{ to_day('spine_at') }} = (select {{ to_day('max(spine_at)') }} from days) as is_last_day_of_data
    from days

)

select * from final
