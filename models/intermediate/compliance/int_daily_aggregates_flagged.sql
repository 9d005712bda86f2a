-- Rule daily_aggregate (docs/aml_rules.md): one hit per user and UTC day whose completed
-- deposits plus withdrawals total MORE than var('daily_aggregate_threshold_usd').
-- Detected at the transfer that took the running total over the threshold; the alert lists
-- and sums every transfer of that day. The hit is defined by user and day, so later transfers
-- on the same day add to the alert instead of raising a new one.

with

transfers as (

    select * from {{ ref('int_transfers_completed') }}
    where amount_usd is not null

),

running as (

    select
        user_id,
        created_date,
        transaction_id,
        amount_usd,
        created_at,
        sum(amount_usd) over (
            partition by user_id, created_date
            order by created_at, transaction_id
            rows between unbounded preceding and current row
        ) as running_total_usd
    from transfers

),

crossings as (

    select
        user_id,
        created_date,
        min(created_at) as detected_at
    from running
    where running_total_usd > {{ var('daily_aggregate_threshold_usd') }}
    group by user_id, created_date

),

day_totals as (

    select
        running.user_id,
        running.created_date,
        sum(running.amount_usd) as amount_usd,
        count(*) as evidence_count,
        {{ dbt.listagg('running.transaction_id', "','", 'order by running.created_at, running.transaction_id') }}
            as evidence_ids,
        min(running.created_at) as pattern_started_at
    from running
    inner join crossings
        on running.user_id = crossings.user_id
        and running.created_date = crossings.created_date
    group by running.user_id, running.created_date

),

final as (

    select
        {{ dbt.hash(dbt.concat([
            "'daily_aggregate|'", 'day_totals.user_id', "'|'", dbt.cast('day_totals.created_date', dbt.type_string())
        ])) }} as alert_id,
        'daily_aggregate' as rule_name,
        day_totals.user_id,
        cast(null as {{ dbt.type_string() }}) as severity,
        {{ dbt.cast('day_totals.created_date', dbt.type_string()) }} as hit_key,
        day_totals.amount_usd,
        'transaction' as evidence_type,
        day_totals.evidence_ids,
        day_totals.evidence_count,
        'deposits and withdrawals of ' || {{ dbt.cast('day_totals.created_date', dbt.type_string()) }} as alert_details,
        day_totals.pattern_started_at,
        crossings.detected_at
    from day_totals
    inner join crossings
        on day_totals.user_id = crossings.user_id
        and day_totals.created_date = crossings.created_date

)

select * from final
