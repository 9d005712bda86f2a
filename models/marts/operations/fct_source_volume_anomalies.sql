-- One row per raw table (with an event time) and UTC event day, from the table's first to
-- its last event day, zero-filled: the rows that arrived for that day (as loaded: versions and
-- replays included) against a robust baseline of the trailing window, the same method as
-- fct_kpi_anomalies: baseline = median of the window_days before the day (the day excluded),
-- spread = 1.4826 x MAD (fallback 1.2533 x mean absolute deviation; when both are 0 the day
-- is not scored), robust z = (rows - baseline) / spread. An anomaly is both statistically and
-- materially off: |z| > anomaly_z_threshold AND |rows - baseline| > anomaly_min_relative_change
-- x baseline. Fewer than anomaly_min_history_days of history: not scored.

{%- set window_days = var('anomaly_window_days') %}
{%- set z_threshold = var('anomaly_z_threshold') %}
{%- set min_relative_change = var('anomaly_min_relative_change') %}

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

-- Each day paired with every earlier day of its trailing window.
history as (

    select
        scored.source_table,
        scored.event_date,
        past.row_count as history_value
    from daily_values as scored
    inner join daily_values as past
        on
        scored.source_table = past.source_table
        and scored.event_date > past.event_date
        and past.event_date >= cast({{ dbt.dateadd('day', -window_days, 'scored.event_date') }} as date)

),

baselines as (

    select
        source_table,
        event_date,
        count(*) as history_days,
        {{ lifecycle_median('history_value') }} as baseline_value
    from history
    group by source_table, event_date

),

spreads as (

    select
        history.source_table,
        history.event_date,
        {{ lifecycle_median('abs(history.history_value - baselines.baseline_value)') }} as median_absolute_deviation,
        avg(abs(history.history_value - baselines.baseline_value)) as mean_absolute_deviation
    from history
    inner join baselines
        on
        history.source_table = baselines.source_table
        and history.event_date = baselines.event_date
    group by history.source_table, history.event_date

),

scaled as (

    select
        daily_values.source_table,
        daily_values.event_date,
        daily_values.row_count,
        coalesce(baselines.history_days, 0) as history_days,
        baselines.baseline_value,
        {{ robust_spread(
            'baselines.history_days',
            'spreads.median_absolute_deviation',
            'spreads.mean_absolute_deviation'
        ) }} as robust_spread
    from daily_values
    left join baselines
        on
        daily_values.source_table = baselines.source_table
        and daily_values.event_date = baselines.event_date
    left join spreads
        on
        daily_values.source_table = spreads.source_table
        and daily_values.event_date = spreads.event_date

),

scored as (

    select
        *,
        (row_count - baseline_value) / robust_spread as robust_z_score
    from scaled

),

flagged as (

    select
        *,
        coalesce(
            abs(robust_z_score) > {{ z_threshold }}
            and abs(row_count - baseline_value) > {{ min_relative_change }} * abs(baseline_value),
            false
        ) as is_anomaly
    from scored

),

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
        case
            when is_anomaly and row_count > baseline_value then 'spike'
            when is_anomaly then 'drop'
        end as anomaly_direction
    from flagged

)

select * from final
