-- One row per trader: the first-trade cohort day and whether the user traded again within
-- 7 and 30 days (docs/kpis.md): a fill on any day in [cohort_date + 1, cohort_date + 7],
-- resp. [cohort_date + 1, cohort_date + 30]. The cohort day itself never counts.

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
        min(trade_date) as cohort_date
    from trading_days
    group by user_id

),

later_days as (

    select
        first_trades.user_id,
        first_trades.cohort_date,
        {{ dbt.datediff(
            'first_trades.cohort_date', 'trading_days.trade_date', 'day'
        ) }} as days_after_first_trade
    from first_trades
    inner join trading_days
        on first_trades.user_id = trading_days.user_id

),

final as (

    select
        user_id,
        cohort_date,
        max(case when days_after_first_trade between 1 and 7 then 1 else 0 end) = 1 as is_retained_7d,
        max(case when days_after_first_trade between 1 and 30 then 1 else 0 end) = 1 as is_retained_30d,
        min(case when days_after_first_trade >= 1 then days_after_first_trade end) as days_to_second_trade_day
    from later_days
    group by user_id, cohort_date

)

select * from final
