-- One row per user and UTC day with a fill or a support ticket opened: the day's fills,
-- notional and fees in USD, and tickets. The feature base of the churn model
-- (predictive/churn_model.py), which rebuilds point-in-time features for any cutoff day
-- from these rows.

with

trading_days as (

    select * from {{ ref('int_user_trading_days') }}

),

tickets as (

    select * from {{ ref('stg_exchange__support_tickets') }}

),

events as (

    select
        user_id,
        trade_date as activity_date,
        fill_count,
        notional_usd,
        fee_usd,
        0 as support_tickets_opened
    from trading_days
    union all
    select
        user_id,
        {{ to_day('created_at') }} as activity_date,
        0 as fill_count,
        0 as notional_usd,
        0 as fee_usd,
        1 as support_tickets_opened
    from tickets
    where user_id is not null and created_at is not null

),

final as (

    select
        user_id,
        activity_date,
        cast(sum(fill_count) as {{ dbt.type_bigint() }}) as fill_count,
        sum(notional_usd) as notional_usd,
        sum(fee_usd) as fee_usd,
        cast(sum(support_tickets_opened) as {{ dbt.type_bigint() }}) as support_tickets_opened,
        sum(fill_count) > 0 as has_fill
    from events
    group by user_id, activity_date

)

-- Money as DECIMAL (macro money, docs/architecture.md) and counts as bigint: the types of
-- the contract (the model's YAML).
select
    user_id,
    activity_date,
    fill_count,
    {{ money('notional_usd') }} as notional_usd,
    {{ money('fee_usd') }} as fee_usd,
    support_tickets_opened,
    has_fill
from final
