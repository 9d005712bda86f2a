-- One row per user and UTC day with at least one fill: the user's activity that day.

with

trades as (

    select * from {{ ref('int_trades_valued') }}

),

user_days as (

    select
        user_id,
        executed_date as trade_date,
        count(*) as fill_count,
        sum(notional_usd) as notional_usd,
        sum(fee_usd) as fee_usd
    from trades
    group by user_id, executed_date

)

select * from user_days
