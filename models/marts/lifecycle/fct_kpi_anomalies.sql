-- One row per day of data and daily KPI (the metrics of fct_daily_exchange_kpis,
-- docs/kpis.md): the day's value against a robust baseline of the trailing window, and whether
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
-- anomaly_metrics, the list of KPI columns scored, which defaults to the list below). The
-- scoring itself is the robust_anomaly_scores macro (macros/anomaly_scoring.sql), shared with
-- fct_source_volume_anomalies.

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

-- History: the days with a value from the first trading day on.
history_values as (

    select daily_values.*
    from daily_values
    cross join launch
    where daily_values.metric_value is not null
        and daily_values.kpi_date >= launch.first_trading_date

),

{{ robust_anomaly_scores('daily_values', ['metric_name'], 'kpi_date', 'metric_value', 'history_values') }},

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
        band_lower,
        band_upper,
        is_anomaly,
        anomaly_direction
    from anomaly_scores

)

select * from final
