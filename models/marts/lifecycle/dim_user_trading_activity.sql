-- One row per user with at least one fill: activity, churn and win-backs as of the last day
-- of data E (docs/kpis.md). Active = a fill in [E - 29, E]; churned = traded before but
-- not in that window; a churn event = a gap of more than 30 days after a fill day (or from
-- the last fill day to E when that is 30 days or more); a win-back = a fill ending such a gap.

with

spells as (

    select * from {{ ref('int_user_activity_spells') }}

),

last_day as (

    select max(date_day) as last_data_date from {{ ref('dim_dates') }}

),

per_user as (

    select
        user_id,
        min(first_trade_date) as first_trade_date,
        max(last_trade_date) as last_trade_date,
        sum(trade_days) as trade_days,
        count(*) as activity_spells,
        sum(case when is_win_back then 1 else 0 end) as win_backs
    from spells
    group by user_id

),

final as (

    select
        per_user.user_id,
        per_user.first_trade_date,
        per_user.last_trade_date,
        per_user.trade_days,
        {{ dbt.datediff(
            'per_user.last_trade_date', 'last_day.last_data_date', 'day'
        ) }} as days_since_last_trade,
        {{ dbt.datediff(
            'per_user.last_trade_date', 'last_day.last_data_date', 'day'
        ) }} < 30 as is_active,
        {{ dbt.datediff(
            'per_user.last_trade_date', 'last_day.last_data_date', 'day'
        ) }} >= 30 as is_churned,
        -- Gaps between spells, plus the open gap to the last day of data.
        per_user.activity_spells - 1
        + case
            when {{ dbt.datediff(
                'per_user.last_trade_date', 'last_day.last_data_date', 'day'
            ) }} >= 30
                then 1
            else 0
        end as churn_events,
        per_user.win_backs,
        per_user.win_backs > 0 as has_win_back,
        last_day.last_data_date as as_of_date
    from per_user
    cross join last_day

)

select * from final
