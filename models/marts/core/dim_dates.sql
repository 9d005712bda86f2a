-- The calendar of the marts: one row per UTC day of data (int_dates_spined states the spine,
-- so the intermediate models that need the days of data read it there, not from a mart).

with

days as (

    select * from {{ ref('int_dates_spined') }}

),

final as (

    select
        date_day,
        week_start_date,
        month_start_date,
        is_last_day_of_data,
        has_trading_started
    from days

)

select * from final
