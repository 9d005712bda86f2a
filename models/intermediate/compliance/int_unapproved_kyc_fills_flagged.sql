-- Business rule unapproved_kyc_trading (the design document's user permission checks): fills
-- by a user whose KYC was not approved at the time of the fill, i.e. no KYC record, a status
-- other than approved, or an approval after the fill. The KYC source keeps only the latest
-- state, so a user approved once and rejected later counts as not approved throughout.
-- One hit per user and UTC day, detected at the day's first such fill.

with

fills as (

    select
        trade_id,
        user_id,
        notional_usd,
        executed_at,
        executed_date
    from {{ ref('int_trades_valued') }}

),

kyc as (

    select
        user_id,
        verification_status,
        approved_at
    from {{ ref('stg_exchange__user_kyc') }}

),

unapproved_fills as (

    select
        fills.*,
        coalesce(kyc.verification_status, 'none') as kyc_status
    from fills
    left join kyc
        on fills.user_id = kyc.user_id
    where not (
            coalesce(kyc.verification_status, 'none') = 'approved'
            and kyc.approved_at is not null
            and kyc.approved_at <= fills.executed_at
        )

),

user_days as (

    select
        user_id,
        executed_date,
        max(kyc_status) as kyc_status,
        sum(notional_usd) as amount_usd,
        count(*) as evidence_count,
        {{ dbt.listagg('trade_id', "','", 'order by executed_at, trade_id') }} as evidence_ids,
        min(executed_at) as detected_at
    from unapproved_fills
    group by user_id, executed_date

),

final as (

    select
        {{ dbt.hash(dbt.concat([
            "'unapproved_kyc_trading|'", 'user_id', "'|'", dbt.cast('executed_date', dbt.type_string())
        ])) }} as alert_id,
        'unapproved_kyc_trading' as rule_name,
        user_id,
        cast(null as {{ dbt.type_string() }}) as severity,
        {{ dbt.cast('executed_date', dbt.type_string()) }} as hit_key,
        amount_usd,
        'trade' as evidence_type,
        evidence_ids,
        evidence_count,
        'fills while KYC ' || kyc_status as alert_details,
        detected_at as pattern_started_at,
        detected_at
    from user_days

)

select * from final
