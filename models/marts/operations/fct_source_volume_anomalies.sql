-- One row per raw table (with an event time) and UTC event day, from the table's first to
-- its last event day, zero-filled: the rows that arrived for that day (as loaded: versions and
-- replays included) against a robust baseline of the trailing window, the same method as
-- fct_kpi_anomalies: baseline = median of the window_days before the day (the day excluded),
-- spread = 1.4826 x MAD (fallback 1.2533 x mean absolute deviation; when both are 0 the day
-- is not scored), robust z = (rows - baseline) / spread. An anomaly is both statistically and
-- materially off: |z| > anomaly_z_threshold AND |rows - baseline| > anomaly_min_relative_change
-- x baseline. Fewer than anomaly_min_history_days of history: not scored. The scoring is the
-- robust_anomaly_scores macro (macros/anomaly_scoring.sql), shared with fct_kpi_anomalies.


with

raw_rows as (

    select * from {{ ref('stg_loader__raw_rows_daily') }}
    where event_date is not null

),

table_bounds as (

    select
        source_table,
        min(event_date) as first_day,
        max(event_date) as last_day
    from raw_rows
    group by source_table

),

bounds as (

    select
        min(first_day) as first_day,
        max(last_day) as last_day
    from table_bounds

),

spine as (

    {{ time_spine('bounds', 'first_day', 'last_day', 'day') }}

),

calendar as (

    select distinct {{ to_day('spine_at') }} as event_date
    from spine

),

counts as (

    select
        source_table,
        event_date,
        sum(row_count) as row_count
    from raw_rows
    group by source_table, event_date

),

daily_values as (

    select
        table_bounds.source_table,
        calendar.event_date,
        cast(coalesce(counts.row_count, 0) as {{ type_double() }}) as row_count
    from table_bounds
    inner join calendar
        on
            table_bounds.first_day <= calendar.event_date
            and table_bounds.last_day >= calendar.event_date
    left join counts
        on
            table_bounds.source_table = counts.source_table
            and calendar.event_date = counts.event_date

),

{{ robust_anomaly_scores('daily_values', ['source_table'], 'event_date', 'row_count') }},

final as (

    select
        source_table,
        event_date,
        cast(row_count as {{ dbt.type_bigint() }}) as row_count,
        baseline_value,
        robust_spread,
        history_days,
        robust_z_score,
        is_anomaly,
        anomaly_direction
    from anomaly_scores

)

select * from final
