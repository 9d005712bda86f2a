{#- Robust anomaly scoring, stated once for fct_kpi_anomalies and fct_source_volume_anomalies
    (the method: models/marts/lifecycle/_lifecycle__docs.md, kpi_anomaly_method).

    Emits the CTEs `anomaly_history`, `anomaly_baselines`, `anomaly_spreads` and
    `anomaly_scores` (no leading or trailing comma) for a model whose CTE `values_relation`
    has one row per series (`series_columns`), day (`date_column`) and value
    (`value_column`, a double). Each day is scored against the window_days before it (the day
    excluded) in `history_relation` (default: the same CTE; a model passes a narrower one to
    leave days out of every history): baseline = median, spread = robust_spread (1.4826 x MAD,
    else 1.2533 x the mean absolute deviation; NULL with too little history or no spread),
    robust z = (value - baseline) / spread. An anomaly is off both statistically and
    materially: |value - baseline| > the larger of anomaly_z_threshold x spread and
    anomaly_min_relative_change x |baseline|. A NULL value or spread is never an anomaly.

    anomaly_scores has the series and date columns, `value_column`, history_days,
    baseline_value, median_absolute_deviation, robust_spread, robust_z_score,
    relative_change, band_lower, band_upper, is_anomaly and anomaly_direction
    ('spike' / 'drop' / NULL). -#}
{% macro robust_anomaly_scores(values_relation, series_columns, date_column, value_column, history_relation=none) -%}
{%- set history_relation = history_relation or values_relation -%}
{%- set window_days = var('anomaly_window_days') -%}
{%- set keys = series_columns + [date_column] -%}
anomaly_history as (

    -- Each day paired with every earlier day of its trailing window.
    select
        {% for column in keys -%}
        scored.{{ column }},
        {% endfor -%}
        past.{{ value_column }} as history_value
    from {{ values_relation }} as scored
    inner join {{ history_relation }} as past
        on {% for column in series_columns -%}
        scored.{{ column }} = past.{{ column }}
        and {% endfor -%}
        past.{{ date_column }} < scored.{{ date_column }}
        and past.{{ date_column }} >= cast({{ dbt.dateadd('day', -window_days, 'scored.' ~ date_column) }} as date)

),

anomaly_baselines as (

    select
        {% for column in keys -%}
        {{ column }},
        {% endfor -%}
        count(*) as history_days,
        {{ percentile_cont('history_value', 0.5) }} as baseline_value
    from anomaly_history
    group by {{ keys | join(', ') }}

),

anomaly_spreads as (

    select
        {% for column in keys -%}
        anomaly_history.{{ column }},
        {% endfor -%}
        {{ percentile_cont('abs(anomaly_history.history_value - anomaly_baselines.baseline_value)', 0.5) }}
            as median_absolute_deviation,
        avg(abs(anomaly_history.history_value - anomaly_baselines.baseline_value)) as mean_absolute_deviation
    from anomaly_history
    inner join anomaly_baselines
        on {% for column in keys -%}
        anomaly_history.{{ column }} = anomaly_baselines.{{ column }}
        {%- if not loop.last %}
        and {% endif %}
        {%- endfor %}
    group by {% for column in keys -%}
        anomaly_history.{{ column }}{% if not loop.last %}, {% endif %}
    {%- endfor %}

),

anomaly_scaled as (

    select
        {% for column in keys -%}
        scored.{{ column }},
        {% endfor -%}
        scored.{{ value_column }},
        coalesce(anomaly_baselines.history_days, 0) as history_days,
        anomaly_baselines.baseline_value,
        anomaly_spreads.median_absolute_deviation,
        {{ robust_spread(
            'anomaly_baselines.history_days',
            'anomaly_spreads.median_absolute_deviation',
            'anomaly_spreads.mean_absolute_deviation'
        ) }} as robust_spread
    from {{ values_relation }} as scored
    left join anomaly_baselines
        on {% for column in keys -%}
        scored.{{ column }} = anomaly_baselines.{{ column }}
        {%- if not loop.last %}
        and {% endif %}
        {%- endfor %}
    left join anomaly_spreads
        on {% for column in keys -%}
        scored.{{ column }} = anomaly_spreads.{{ column }}
        {%- if not loop.last %}
        and {% endif %}
        {%- endfor %}

),

anomaly_banded as (

    select
        *,
        ({{ value_column }} - baseline_value) / robust_spread as robust_z_score,
        case
            when baseline_value <> 0 then ({{ value_column }} - baseline_value) / abs(baseline_value)
        end as relative_change,
        -- Half the width of the normal band: the larger of the statistical and material
        -- limits; NULL (not scored) without a spread.
        case
            when robust_spread is not null then greatest(
                {{ var('anomaly_z_threshold') }} * robust_spread,
                {{ var('anomaly_min_relative_change') }} * abs(baseline_value)
            )
        end as band_half_width
    from anomaly_scaled

),

anomaly_scores as (

    select
        {% for column in keys -%}
        {{ column }},
        {% endfor -%}
        {{ value_column }},
        history_days,
        baseline_value,
        median_absolute_deviation,
        robust_spread,
        robust_z_score,
        relative_change,
        baseline_value - band_half_width as band_lower,
        baseline_value + band_half_width as band_upper,
        coalesce(abs({{ value_column }} - baseline_value) > band_half_width, false) as is_anomaly,
        case
            when abs({{ value_column }} - baseline_value) > band_half_width
                and {{ value_column }} > baseline_value then 'spike'
            when abs({{ value_column }} - baseline_value) > band_half_width then 'drop'
        end as anomaly_direction
    from anomaly_banded

)
{%- endmacro %}

{#- The robust spread of a value around its baseline, in the units of the value: 1.4826 × the
    median absolute deviation (the standard deviation for normal data), else 1.2533 × the mean
    absolute deviation when over half the history equals the baseline; NULL with fewer than
    `anomaly_min_history_days` of history (not scored). Shared by the KPI and the raw-volume
    anomaly models, so both score the same way. -#}
{% macro robust_spread(history_days, median_absolute_deviation, mean_absolute_deviation) -%}
    case
        when coalesce({{ history_days }}, 0) < {{ var('anomaly_min_history_days') }} then null
        when {{ median_absolute_deviation }} > 0 then 1.4826 * {{ median_absolute_deviation }}
        when {{ mean_absolute_deviation }} > 0 then 1.2533 * {{ mean_absolute_deviation }}
    end
{%- endmacro %}
