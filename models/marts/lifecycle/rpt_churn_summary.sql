-- One row: the exchange's churn position as of the last day of data (docs/kpis.md).
-- churn_rate = churned users / users who ever traded; win_back_rate = users with a win-back
-- / users with a churn event.

with

users as (

    select * from {{ ref('dim_user_trading_activity') }}

),

final as (

    select
        max(as_of_date) as as_of_date,
        count(*) as traders_to_date,
        sum(case when is_active then 1 else 0 end) as active_traders_30d,
        sum(case when is_churned then 1 else 0 end) as churned_traders,
        {{ safe_divide('sum(case when is_churned then 1 else 0 end)', 'count(*)') }} as churn_rate,
        sum(case when churn_events > 0 then 1 else 0 end) as users_with_churn_event,
        sum(case when has_win_back then 1 else 0 end) as users_won_back,
        {{ safe_divide('sum(case when has_win_back then 1 else 0 end)',
                       'sum(case when churn_events > 0 then 1 else 0 end)') }} as win_back_rate
    from users

)

select * from final
