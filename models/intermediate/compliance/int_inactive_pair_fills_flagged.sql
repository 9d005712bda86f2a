-- Business rule inactive_pair_trading (the design document's trade amount limits): fills on a
-- pair whose status is inactive or delisted. The trading_pairs source keeps only the current
-- status, with no time of change, so every fill of a pair that is inactive now is in scope;
-- see the compliance docs. One hit per user, pair and UTC day, detected at the first fill.

with

fills as (

    select
        trade_id,
        user_id,
        pair_id,
        notional_usd,
        executed_at,
        executed_date
    from {{ ref('int_trades_valued') }}

),

pairs as (

    select
        pair_id,
        symbol,
        status
    from {{ ref('stg_exchange__trading_pairs') }}

),

hits as (

    select
        fills.*,
        pairs.symbol,
        pairs.status as pair_status
    from fills
    inner join pairs
        on fills.pair_id = pairs.pair_id
    where pairs.status in ('inactive', 'delisted')

),

user_pair_days as (

    select
        user_id,
        pair_id,
        symbol,
        pair_status,
        executed_date,
        sum(notional_usd) as amount_usd,
        count(*) as evidence_count,
        {{ dbt.listagg('trade_id', "','", 'order by executed_at, trade_id') }} as evidence_ids,
        min(executed_at) as detected_at
    from hits
    group by user_id, pair_id, symbol, pair_status, executed_date

),

final as (

    select
        {{ dbt.hash(dbt.concat([
            "'inactive_pair_trading|'", 'user_id', "'|'", dbt.cast('pair_id', dbt.type_string()),
            "'|'", dbt.cast('executed_date', dbt.type_string())
        ])) }} as alert_id,
        'inactive_pair_trading' as rule_name,
        user_id,
        cast(null as {{ dbt.type_string() }}) as severity,
        {{ dbt.cast('pair_id', dbt.type_string()) }}         || '|'
        || {{ dbt.cast('executed_date', dbt.type_string()) }} as hit_key,
        amount_usd,
        'trade' as evidence_type,
        evidence_ids,
        evidence_count,
        'fills on ' || pair_status || ' pair ' || symbol as alert_details,
        detected_at as pattern_started_at,
        detected_at
    from user_pair_days

)

select * from final
