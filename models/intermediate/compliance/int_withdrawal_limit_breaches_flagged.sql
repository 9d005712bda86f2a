-- Business rule withdrawal_limit_exceeded (the design document's trade amount limits): a
-- user's completed withdrawals in one UTC day total more than the daily withdrawal limit
-- (USD) of the tier the user had at the time of the withdrawal (tier history; the current
-- tier where no history covers it). Detected at the withdrawal that took the running total
-- over the limit; the alert sums and lists the whole day. A tier without a limit never fires.

with

transfers as (

    select * from {{ ref('int_transfers_completed') }}
    where transaction_type = 'withdrawal'
        and amount_usd is not null

),

tier_history as (

    select * from {{ ref('int_user_tier_history') }}

),

users as (

    select
        user_id,
        tier_id
    from {{ ref('stg_exchange__users') }}

),

tiers as (

    select
        tier_id,
        tier_name,
        withdrawal_limit_daily
    from {{ ref('stg_exchange__user_tiers') }}

),

with_limit as (

    select
        transfers.transaction_id,
        transfers.user_id,
        transfers.amount_usd,
        transfers.created_at,
        transfers.created_date,
        tiers.tier_name,
        tiers.withdrawal_limit_daily,
        sum(transfers.amount_usd) over (
            partition by transfers.user_id, transfers.created_date
            order by transfers.created_at, transfers.transaction_id
            rows between unbounded preceding and current row
        ) as running_total_usd
    from transfers
    left join tier_history
        on transfers.user_id = tier_history.user_id
        and (tier_history.valid_from is null or transfers.created_at >= tier_history.valid_from)
        and (tier_history.valid_to is null or transfers.created_at < tier_history.valid_to)
    left join users
        on transfers.user_id = users.user_id
    left join tiers
        on coalesce(tier_history.tier_id, users.tier_id) = tiers.tier_id

),

breaches as (

    select
        *,
        row_number() over (partition by user_id, created_date order by created_at, transaction_id) as breach_rank
    from with_limit
    where running_total_usd > withdrawal_limit_daily

),

first_breach as (

    select * from breaches
    where breach_rank = 1

),

day_totals as (

    select
        user_id,
        created_date,
        sum(amount_usd) as amount_usd,
        count(*) as evidence_count,
        {{ dbt.listagg('transaction_id', "','", 'order by created_at, transaction_id') }} as evidence_ids,
        min(created_at) as pattern_started_at
    from with_limit
    group by user_id, created_date

),

final as (

    select
        {{ dbt.hash(dbt.concat([
            "'withdrawal_limit_exceeded|'", 'first_breach.user_id', "'|'", dbt.cast('first_breach.created_date', dbt.type_string())
        ])) }} as alert_id,
        'withdrawal_limit_exceeded' as rule_name,
        first_breach.user_id,
        cast(null as {{ dbt.type_string() }}) as severity,
        {{ dbt.cast('first_breach.created_date', dbt.type_string()) }} as hit_key,
        day_totals.amount_usd,
        'transaction' as evidence_type,
        day_totals.evidence_ids,
        day_totals.evidence_count,
        'withdrawals over the daily limit of tier ' || coalesce(first_breach.tier_name, 'unknown') as alert_details,
        day_totals.pattern_started_at,
        first_breach.created_at as detected_at
    from first_breach
    inner join day_totals
        on first_breach.user_id = day_totals.user_id
        and first_breach.created_date = day_totals.created_date

)

select * from final
