{#- The USD valuation join, stated once: a left join of int_asset_usd_rates_hourly (one USD
    rate per asset and hour, stablecoins included) as `alias`, on the asset and the hour of
    `timestamp_expression`. `alias`.usd_rate is NULL when the asset has no rate at that hour
    (never a guess); `alias`.is_stablecoin says whether the rate is a stablecoin's. -#}
{% macro usd_rate_join(alias, asset_expression, timestamp_expression) -%}
    left join {{ ref('int_asset_usd_rates_hourly') }} as {{ alias }}
        on {{ asset_expression }} = {{ alias }}.asset
        and {{ dbt.date_trunc('hour', timestamp_expression) }} = {{ alias }}.rate_hour
{%- endmacro %}
