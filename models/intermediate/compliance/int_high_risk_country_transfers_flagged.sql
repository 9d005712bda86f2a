-- Rule high_risk_country (SPEC section 5): a completed deposit or withdrawal of at least
-- var('high_risk_country_min_usd') by a user whose country of residence, or the country of a
-- successful login in the var('high_risk_country_login_lookback_hours') hours up to the
-- transfer (bounds included), is on a FATF list in force on the transfer's day (seed
-- fatf_high_risk_countries, effective_from). Severity: the black list is high, the grey list
-- medium (the seed's severity); a transfer matching both takes the higher. NULL countries
-- never match. One hit per transfer.

{%- set lookback_hours = var('high_risk_country_login_lookback_hours') %}

with

transfers as {{ not_materialized() }} (

    select * from {{ ref('int_transfers_completed') }}
    where amount_usd >= {{ var('high_risk_country_min_usd') }}

),

users as (

    select user_id, country_code from {{ ref('stg_exchange__users') }}

),

logins as (

    select user_id, country_code, occurred_at
    from {{ ref('stg_exchange__login_events') }}
    where event_type = 'login_success'
        and country_code is not null

),

fatf as (

    select
        country_code,
        fatf_list,
        severity,
        effective_from,
        case severity when 'critical' then 4 when 'high' then 3 when 'medium' then 2 else 1 end as severity_rank
    from {{ ref('fatf_high_risk_countries') }}

),

residence_matches as (

    select
        transfers.transaction_id,
        fatf.country_code,
        'residence' as matched_by,
        fatf.severity_rank
    from transfers
    inner join users
        on transfers.user_id = users.user_id
    inner join fatf
        on upper(users.country_code) = fatf.country_code
        and fatf.effective_from <= transfers.created_date

),

login_matches as (

    select distinct
        transfers.transaction_id,
        fatf.country_code,
        'login' as matched_by,
        fatf.severity_rank
    from transfers
    inner join logins
        on transfers.user_id = logins.user_id
        and logins.occurred_at >= {{ dbt.dateadd('hour', -lookback_hours, 'transfers.created_at') }}
        and logins.occurred_at <= transfers.created_at
    inner join fatf
        on upper(logins.country_code) = fatf.country_code
        and fatf.effective_from <= transfers.created_date

),

matches as (

    select * from residence_matches
    union all
    select * from login_matches

),

per_transfer as (

    select
        transaction_id,
        max(severity_rank) as severity_rank,
        {{ dbt.listagg("country_code || ' (' || matched_by || ')'", "', '", 'order by matched_by desc, country_code') }}
            as matched_countries
    from matches
    group by transaction_id

),

final as (

    select
        {{ dbt.hash(dbt.concat(["'high_risk_country|'", 'transfers.user_id', "'|'", 'transfers.transaction_id'])) }}
            as alert_id,
        'high_risk_country' as rule_name,
        transfers.user_id,
        case per_transfer.severity_rank
            when 4 then 'critical' when 3 then 'high' when 2 then 'medium' else 'low'
        end as severity,
        transfers.transaction_id as hit_key,
        transfers.amount_usd,
        'transaction' as evidence_type,
        transfers.transaction_id as evidence_ids,
        1 as evidence_count,
        'FATF-listed country: ' || per_transfer.matched_countries as alert_details,
        transfers.created_at as pattern_started_at,
        transfers.created_at as detected_at
    from transfers
    inner join per_transfer
        on transfers.transaction_id = per_transfer.transaction_id

)

select * from final
