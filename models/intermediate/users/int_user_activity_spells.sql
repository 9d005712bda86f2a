-- One row per user and activity spell: a run of fill days with no gap of more than 30 days.
-- A user is active on day D when a fill falls in [D - 29, D] (docs/kpis.md), so a spell
-- keeps the user active from its first fill day to 29 days after its last fill day.
-- A gap of more than 30 days between fill days is a churn event; the fill that ends it is a
-- win-back.

with

trading_days as (

    select
        user_id,
        trade_date
    from {{ ref('int_user_trading_days') }}

),

with_previous as (

    select
        user_id,
        trade_date,
        lag(trade_date) over (partition by user_id order by trade_date) as previous_trade_date
    from trading_days

),

flagged as (

    select
        user_id,
        trade_date,
        previous_trade_date,
        case
            when previous_trade_date is null then 1
            when {{ dbt.datediff(
                'previous_trade_date', 'trade_date', 'day'
            ) }} > 30 then 1
            else 0
        end as starts_spell
    from with_previous

),

numbered as (

    select
        *,
        sum(starts_spell) over (
            partition by user_id order by trade_date rows between unbounded preceding and current row
        ) as spell_number
    from flagged

),

spells as (

    select
        user_id,
        spell_number,
        min(trade_date) as first_trade_date,
        max(trade_date) as last_trade_date,
        count(*) as trade_days,
        -- The gap before this spell (NULL for a user's first spell).
        max(
            case
                when starts_spell = 1
                    then {{ dbt.datediff('previous_trade_date', 'trade_date', 'day') }}
            end
        ) as days_since_previous_spell
    from numbered
    group by user_id, spell_number

),

final as (

    select
        user_id,
        spell_number,
        first_trade_date,
        last_trade_date,
        cast({{ dbt.dateadd('day', 29, 'last_trade_date') }} as date) as active_until_date,
        trade_days,
        days_since_previous_spell,
        spell_number > 1 as is_win_back
    from spells

)

select * from final
