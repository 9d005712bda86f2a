-- Rule self_trade (docs/aml_rules.md): a user's buy fill and sell fill on the same pair at the
-- same price within var('self_trade_window_seconds') seconds of each other (bounds included;
-- the maker and taker fills of a user matched against their own order are 0 seconds apart).
--
-- Every fill that has an earlier opposite-side fill of the same user, pair and price in the
-- window (fills ordered by executed_at, then trade_id) completes a pattern and is a hit.
-- A hit within the window after another hit of the same user and pair continues the same
-- wash-trading run and raises no new alert.

{%- set window_seconds = var('self_trade_window_seconds') %}

with

all_fills as {{ not_materialized() }} (

    select
        trade_id,
        user_id,
        pair_id,
        symbol,
        side,
        price,
        notional_usd,
        executed_at
    from {{ ref('int_trades_valued') }}

),

two_sided_prices as (

    -- Only a user, pair and price with fills on both sides can hold a self trade.
    select
        user_id,
        pair_id,
        price
    from all_fills
    group by user_id, pair_id, price
    having count(distinct side) = 2

),

fills as (

    select all_fills.*
    from all_fills
    inner join two_sided_prices
        on all_fills.user_id = two_sided_prices.user_id
        and all_fills.pair_id = two_sided_prices.pair_id
        and all_fills.price = two_sided_prices.price

),

matches as (

    select
        completing.trade_id as completing_trade_id,
        completing.user_id,
        completing.pair_id,
        completing.symbol,
        completing.executed_at as completed_at,
        completing.notional_usd as completing_notional_usd,
        earlier.trade_id,
        earlier.executed_at
    from fills as completing
    inner join fills as earlier
        on completing.user_id = earlier.user_id
        and completing.pair_id = earlier.pair_id
        and completing.price = earlier.price
        and completing.side <> earlier.side
        and earlier.executed_at >= {{ dbt.dateadd('second', -window_seconds, 'completing.executed_at') }}
        and (
            completing.executed_at > earlier.executed_at
            or (completing.executed_at = earlier.executed_at and completing.trade_id > earlier.trade_id)
        )

),

completions as (

    select
        completing_trade_id,
        user_id,
        pair_id,
        symbol,
        completed_at,
        completing_notional_usd,
        count(*) as matched_fill_count
    from matches
    group by completing_trade_id, user_id, pair_id, symbol, completed_at, completing_notional_usd

),

first_of_run as (

    select completions.*
    from completions
    where not exists (
            select 1
            from completions as earlier
            where earlier.user_id = completions.user_id
                and earlier.pair_id = completions.pair_id
                and earlier.completed_at >= {{ dbt.dateadd('second', -window_seconds, 'completions.completed_at') }}
                and (
                    earlier.completed_at < completions.completed_at
                    or (
                        earlier.completed_at = completions.completed_at
                        and earlier.completing_trade_id < completions.completing_trade_id
                    )
                )
        )

),

evidence as (

    select
        matches.completing_trade_id,
        {{ dbt.listagg('matches.trade_id', "','", 'order by matches.executed_at, matches.trade_id') }}
            as matched_trade_ids,
        min(matches.executed_at) as pattern_started_at
    from matches
    inner join first_of_run
        on matches.completing_trade_id = first_of_run.completing_trade_id
    group by matches.completing_trade_id

),

final as (

    select
        {{ dbt.hash(dbt.concat(["'self_trade|'", 'first_of_run.user_id', "'|'", 'first_of_run.completing_trade_id'])) }}
            as alert_id,
        'self_trade' as rule_name,
        first_of_run.user_id,
        cast(null as {{ dbt.type_string() }}) as severity,
        first_of_run.completing_trade_id as hit_key,
        first_of_run.completing_notional_usd as amount_usd,
        'trade' as evidence_type,
        evidence.matched_trade_ids || ',' || first_of_run.completing_trade_id as evidence_ids,
        first_of_run.matched_fill_count + 1 as evidence_count,
        'buy and sell fills at one price on '
        || coalesce(first_of_run.symbol, 'pair ' || {{ dbt.cast('first_of_run.pair_id', dbt.type_string()) }})
            as alert_details,
        evidence.pattern_started_at,
        first_of_run.completed_at as detected_at
    from first_of_run
    inner join evidence
        on first_of_run.completing_trade_id = evidence.completing_trade_id

)

select * from final
