-- One row per day of data and daily KPI (the metrics of fct_daily_exchange_kpis, SPEC
-- section 4): the day's value against a robust baseline of the trailing window, and whether
-- it falls outside the band. Baseline = median of the metric over the window_days before the
-- day (the day itself excluded; days come from the zero-filled date spine, so quiet days count
-- as zeros); spread = 1.4826 x the median absolute deviation (MAD) from that median, which
-- equals the standard deviation for normal data. When the MAD is 0 (more than half the window
-- identical) the spread falls back to 1.2533 x the mean absolute deviation; when that is 0 too,
-- the day is not scored. robust z = (value - baseline) / spread.
-- A day is an anomaly when it is both statistically and materially off: |z| > z_threshold AND
-- |value - baseline| > min_relative_change x |baseline|. The second condition keeps large,
-- smooth series (where tiny noise makes z large) from flagging weekends and steady growth.
-- A day with fewer than min_history_days of history, or a NULL value (a ratio without
-- denominator), is not scored (z NULL, is_anomaly false). Days before the exchange's first
-- day of trading (the first fill, order or fee revenue) are neither scored nor history: the
-- date spine starts at the first registration, and a year of sparse pre-launch sign-ups would
-- make every registration and the launch itself an anomaly. Vars: anomaly_window_days,
-- anomaly_min_history_days, anomaly_z_threshold, anomaly_min_relative_change (and
-- anomaly_metrics, the list of KPI columns scored, which defaults to the list below).

{%- set metrics = var('anomaly_metrics', [
    'active_traders',
    'trade_count',
    'trading_volume_usd',
    'trading_fee_revenue_usd',
    'withdrawal_fee_revenue_usd',
    'revenue_usd',
    'revenue_per_trade_usd',
    'orders_placed',
    'orders_executed',
    'fill_rate',
    'new_registrations',
    'kyc_approvals',
    'first_time_traders',
]) %}
{%- set window_days = var('anomaly_window_days') %}
{%- set z_threshold = var('anomaly_z_threshold') %}
{%- set min_relative_change = var('anomaly_min_relative_change') %}

with

kpis as (

    select * from {{ ref('fct_daily_exchange_kpis') }}

),

-- The first day with a fill, an order or fee revenue; NULL before the exchange trades.
launch as (

    select min(kpi_date) as first_trading_date
    from kpis
    where trade_count > 0 or orders_placed > 0 or revenue_usd > 0

),

daily_values as (

    {% for metric in metrics %}
        select
            kpi_date,
            '{{ metric }}' as metric_name,
            cast({{ metric }} as {{ type_double() }}) as metric_value
        from kpis
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

-- Each day paired with every earlier day of its trailing window.
history as (

    select
        scored.kpi_date,
        scored.metric_name,
        past.metric_value as history_value
    from daily_values as scored
    inner join daily_values as past
        on scored.metric_name = past.metric_name
        and scored.kpi_date > past.kpi_date
        and past.kpi_date >= cast({{ dbt.dateadd('day', -window_days, 'scored.kpi_date') }} as date)
    cross join launch
    where past.metric_value is not null
        and past.kpi_date >= launch.first_trading_date

),

baselines as (

    select
        kpi_date,
        metric_name,
        count(*) as history_days,
        {{ lifecycle_median('history_value') }} as baseline_value
    from history
    group by kpi_date, metric_name

),

spreads as (

    select
        history.kpi_date,
        history.metric_name,
        {{ lifecycle_median('abs(history.history_value - baselines.baseline_value)') }} as median_absolute_deviation,
        avg(abs(history.history_value - baselines.baseline_value)) as mean_absolute_deviation
    from history
    inner join baselines
        on history.kpi_date = baselines.kpi_date
        and history.metric_name = baselines.metric_name
    group by history.kpi_date, history.metric_name

),

scaled as (

    select
        daily_values.kpi_date,
        daily_values.metric_name,
        daily_values.metric_value,
        coalesce(baselines.history_days, 0) as history_days,
        baselines.baseline_value,
        spreads.median_absolute_deviation,
        {{ robust_spread(
            'baselines.history_days',
            'spreads.median_absolute_deviation',
            'spreads.mean_absolute_deviation'
        ) }} as robust_spread
    from daily_values
    left join baselines
        on daily_values.kpi_date = baselines.kpi_date
        and daily_values.metric_name = baselines.metric_name
    left join spreads
        on daily_values.kpi_date = spreads.kpi_date
        and daily_values.metric_name = spreads.metric_name

),

scored as (

    select
        *,
        (metric_value - baseline_value) / robust_spread as robust_z_score,
        case
            when baseline_value <> 0 then (metric_value - baseline_value) / abs(baseline_value)
        end as relative_change,
        -- Half the width of the normal band: the larger of the statistical and material
        -- limits; NULL (not scored) without a spread.
        case
            when robust_spread is not null then greatest(
                    {{ z_threshold }} * robust_spread,
                    {{ min_relative_change }} * abs(baseline_value)
                )
        end as band_half_width
    from scaled

),

flagged as (

    select
        *,
        coalesce(abs(metric_value - baseline_value) > band_half_width, false) as is_anomaly
    from scored

),

final as (

    select
        kpi_date,
        metric_name,
        metric_value,
        baseline_value,
        median_absolute_deviation,
        robust_spread,
        history_days,
        robust_z_score,
        relative_change,
        baseline_value - band_half_width as band_lower,
        baseline_value + band_half_width as band_upper,
        is_anomaly,
        case
            when is_anomaly and metric_value > baseline_value then 'spike'
            when is_anomaly then 'drop'
        end as anomaly_direction
    from flagged

)

select * from final
