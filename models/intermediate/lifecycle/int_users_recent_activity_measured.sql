-- One row per registered user: trading, fee and support activity in the windows that the
-- churn-risk indicators and segments are defined on, as of the last day of data E
-- (docs/kpis.md): the current 30 days [E - 29, E] and the 30 days before [E - 59, E - 30].

with

users as (

    select user_id from {{ ref('stg_exchange__users') }}

),

trading_days as (

    select * from {{ ref('int_user_trading_days') }}

),

spells as (

    select * from {{ ref('int_user_activity_spells') }}

),

fees as (

    select
        user_id,
        collected_date,
        fee_usd
    from {{ ref('int_fee_collections_valued') }}

),

tickets as (

    select
        user_id,
        created_at
    from {{ ref('stg_exchange__support_tickets') }}

),

windows as (

    select
        max(date_day) as as_of_date,
        cast({{ dbt.dateadd('day', -29, 'max(date_day)') }} as date) as window_start_date,
        cast({{ dbt.dateadd('day', -59, 'max(date_day)') }} as date) as prior_window_start_date,
        cast({{ dbt.dateadd('day', -30, 'max(date_day)') }} as date) as prior_window_end_date
    from {{ ref('int_dates_spined') }}

),

trading as (

    select
        trading_days.user_id,
        min(trading_days.trade_date) as first_trade_date,
        max(trading_days.trade_date) as last_trade_date,
        count(
            case
                when trading_days.trade_date between windows.window_start_date and windows.as_of_date
                    then 1
            end
        ) as trade_days_30d,
        cast(sum(
            case
                when trading_days.trade_date between windows.window_start_date and windows.as_of_date
                    then trading_days.fill_count
                else 0
            end
        ) as {{ dbt.type_bigint() }}) as fills_30d,
        sum(
            case
                when trading_days.trade_date between windows.window_start_date and windows.as_of_date
                    then trading_days.notional_usd
                else 0
            end
        ) as volume_30d_usd,
        sum(
            case
                when
                    trading_days.trade_date
                    between windows.prior_window_start_date and windows.prior_window_end_date
                    then trading_days.notional_usd
                else 0
            end
        ) as volume_prior_30d_usd
    from trading_days
    cross join windows
    where trading_days.trade_date <= windows.as_of_date
    group by trading_days.user_id

),

latest_spell_numbers as (

    select
        user_id,
        max(spell_number) as spell_number
    from spells
    group by user_id

),

current_spells as (

    select
        spells.user_id,
        spells.spell_number as current_spell_number,
        spells.first_trade_date as current_spell_start_date
    from spells
    inner join latest_spell_numbers
        on spells.user_id = latest_spell_numbers.user_id
        and spells.spell_number = latest_spell_numbers.spell_number

),

fee_revenue as (

    select
        fees.user_id,
        sum(fees.fee_usd) as revenue_30d_usd
    from fees
    cross join windows
    where fees.collected_date between windows.window_start_date and windows.as_of_date
    group by fees.user_id

),

support as (

    select
        tickets.user_id,
        count(*) as support_tickets_30d
    from tickets
    cross join windows
    where {{ to_day('tickets.created_at') }} between windows.window_start_date and windows.as_of_date
    group by tickets.user_id

),

final as (

    select
        users.user_id,
        windows.as_of_date,
        trading.first_trade_date,
        trading.last_trade_date,
        {{ dbt.datediff('trading.last_trade_date', 'windows.as_of_date', 'day') }}
            as days_since_last_trade,
        current_spells.current_spell_number,
        current_spells.current_spell_start_date,
        coalesce(trading.trade_days_30d, 0) > 0 as is_active,
        coalesce(trading.trade_days_30d, 0) as trade_days_30d,
        coalesce(trading.fills_30d, 0) as fills_30d,
        coalesce(trading.volume_30d_usd, 0) as volume_30d_usd,
        coalesce(trading.volume_prior_30d_usd, 0) as volume_prior_30d_usd,
        coalesce(fee_revenue.revenue_30d_usd, 0) as revenue_30d_usd,
        coalesce(support.support_tickets_30d, 0) as support_tickets_30d
    from users
    cross join windows
    left join trading
        on users.user_id = trading.user_id
    left join current_spells
        on users.user_id = current_spells.user_id
    left join fee_revenue
        on users.user_id = fee_revenue.user_id
    left join support
        on users.user_id = support.user_id

)

select * from final
