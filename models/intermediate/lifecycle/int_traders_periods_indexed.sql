-- One row per trader, period grain ('week' or 'month') and period with at least one fill:
-- the period of the user's first fill (the cohort) and how many periods later this one is.
-- Weeks start on Monday (ISO), months on the 1st; period 0 is the cohort's own period.

with

trading_days as (

    select
        user_id,
        trade_date
    from {{ ref('int_user_trading_days') }}

),

first_trades as (

    select
        user_id,
        min(trade_date) as first_trade_date
    from trading_days
    group by user_id

),

{% for grain in ['week', 'month'] %}
    {{ grain }}_periods as (

        select distinct
            '{{ grain }}' as period_grain,
            trading_days.user_id,
            cast({{ dbt.date_trunc(grain, 'first_trades.first_trade_date') }} as date) as cohort_period_start_date,
            cast({{ dbt.date_trunc(grain, 'trading_days.trade_date') }} as date) as activity_period_start_date
        from trading_days
        inner join first_trades
            on trading_days.user_id = first_trades.user_id

    ),

{% endfor %}
unioned as (

    select * from week_periods
    union all
    select * from month_periods

),

final as (

    select
        period_grain,
        user_id,
        cohort_period_start_date,
        activity_period_start_date,
        case
            when period_grain = 'week'
                then cast(                                        {{ dbt.datediff('cohort_period_start_date', 'activity_period_start_date', 'day') }} / 7 as integer
                    )
            else cast(                                {{ dbt.datediff('cohort_period_start_date', 'activity_period_start_date', 'month') }} as integer
                )
        end as periods_since_first_trade
    from unioned

)

select * from final
