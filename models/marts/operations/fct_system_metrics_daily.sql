-- One row per UTC day (first to last day of system_metrics) and metric type: the day's
-- p50/p95/p99 of the 5-minute samples against the thresholds of the seed
-- ops_metric_thresholds. A percentile strictly above its threshold is a breach; a day without
-- samples has NULL percentiles and no breach (sample_count 0 says so). Percentiles interpolate
-- between the two nearest samples (macros/percentile.sql; approximate on BigQuery).

with

metrics as (

    select * from {{ ref('stg_exchange__system_metrics') }}

),

thresholds as (

    select * from {{ ref('ops_metric_thresholds') }}

),

bounds as (

    select
        min({{ to_day('recorded_at') }}) as first_day,
        max({{ to_day('recorded_at') }}) as last_day
    from metrics

),

spine as (

    {{ time_spine('bounds', 'first_day', 'last_day', 'day') }}

),

calendar as (

    select distinct {{ to_day('spine_at') }} as metric_date
    from spine

),

-- every metric type with a threshold, and any other that arrives (without thresholds)
metric_types as (

    select distinct metric_type
    from (
        select metric_type from thresholds
        union all
        select metric_type from metrics
    ) as all_types

),

daily as (

    select
        {{ to_day('recorded_at') }} as metric_date,
        metric_type,
        count(*) as sample_count,
        avg(cast(metric_value as {{ type_double() }})) as mean_value,
        {{ percentile_cont('cast(metric_value as ' ~ type_double() ~ ')', 0.5) }} as p50_value,
        {{ percentile_cont('cast(metric_value as ' ~ type_double() ~ ')', 0.95) }} as p95_value,
        {{ percentile_cont('cast(metric_value as ' ~ type_double() ~ ')', 0.99) }} as p99_value,
        max(cast(metric_value as {{ type_double() }})) as max_value
    from metrics
    group by {{ to_day('recorded_at') }}, metric_type

),

joined as (

    select
        calendar.metric_date,
        metric_types.metric_type,
        thresholds.unit,
        coalesce(daily.sample_count, 0) as sample_count,
        daily.mean_value,
        daily.p50_value,
        daily.p95_value,
        daily.p99_value,
        daily.max_value,
        thresholds.p50_threshold,
        thresholds.p95_threshold,
        thresholds.p99_threshold
    from calendar
    cross join metric_types
    left join thresholds
        on metric_types.metric_type = thresholds.metric_type
    left join daily
        on
        calendar.metric_date = daily.metric_date
        and metric_types.metric_type = daily.metric_type

),

flagged as (

    select
        *,
        coalesce(p50_value > p50_threshold, false) as is_p50_breach,
        coalesce(p95_value > p95_threshold, false) as is_p95_breach,
        coalesce(p99_value > p99_threshold, false) as is_p99_breach
    from joined

),

final as (

    select
        metric_date,
        metric_type,
        unit,
        sample_count,
        mean_value,
        p50_value,
        p95_value,
        p99_value,
        max_value,
        p50_threshold,
        p95_threshold,
        p99_threshold,
        is_p50_breach,
        is_p95_breach,
        is_p99_breach,
        (is_p50_breach or is_p95_breach or is_p99_breach) as is_breach
    from flagged

)

select * from final
