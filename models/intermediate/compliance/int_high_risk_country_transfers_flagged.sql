-- Rule high_risk_country (docs/aml_rules.md): a completed deposit or withdrawal of at least
-- var('high_risk_country_min_usd') by a user whose country of residence, or the country of a
-- successful login in the var('high_risk_country_login_lookback_hours') hours up to the
-- transfer (bounds included), is on a FATF list in force on the transfer's day. Severity: the
-- black list is high, the grey list medium (the seed's severity); a transfer matching both
-- takes the higher. NULL countries never match. One hit per transfer.
--
-- Point in time, both sides (docs: seed fatf_high_risk_countries, doc fatf_list_history):
-- - the lists: seed fatf_high_risk_countries holds one row per country and listing period,
--   [effective_from, effective_to) with effective_to exclusive and NULL while in force. A
--   transfer dated before the seed's earliest period is judged on the earliest period, and its
--   alert_details says so.
-- - the residence: the country the user row said when the transfer happened
--   (int_user_country_history, from every delivered version), not the current one.
-- Both are range joins on an equality key (user, country): cheap on millions of transfers.

{%- set lookback_hours = var('high_risk_country_login_lookback_hours') %}

with

transfers as {{ not_materialized() }} (

    select * from {{ ref('int_transfers_completed') }}
    where amount_usd >= {{ var('high_risk_country_min_usd') }}

),

fatf as (

    select
        upper(country_code) as country_code,
        fatf_list,
        severity,
        effective_from,
        effective_to,
        case severity when 'critical' then 4 when 'high' then 3 when 'medium' then 2 else 1 end as severity_rank
    from {{ ref('fatf_high_risk_countries') }}

),

seed_start as (

    select min(effective_from) as first_effective_from from fatf

),

-- The date each transfer is judged on: its own day, or the seed's first day when earlier.
transfers_dated as (

    select
        transfers.transaction_id,
        transfers.user_id,
        transfers.amount_usd,
        transfers.created_at,
        case
            when transfers.created_date < seed_start.first_effective_from then seed_start.first_effective_from
            else transfers.created_date
        end as list_date,
        case
            when transfers.created_date < seed_start.first_effective_from then seed_start.first_effective_from
        end as earliest_list_applied
    from transfers
    cross join seed_start

),

residences as (

    select
        user_id,
        country_code,
        valid_from,
        valid_to
    from {{ ref('int_user_country_history') }}
    where country_code is not null

),

logins as (

    select
        user_id,
        country_code,
        occurred_at
    from {{ ref('stg_exchange__login_events') }}
    where event_type = 'login_success'
        and country_code is not null

),

residence_matches as (

    select
        transfers_dated.transaction_id,
        fatf.country_code,
        'residence' as matched_by,
        fatf.severity_rank
    from transfers_dated
    inner join residences
        on transfers_dated.user_id = residences.user_id
        and (residences.valid_from is null or transfers_dated.created_at >= residences.valid_from)
        and (residences.valid_to is null or transfers_dated.created_at < residences.valid_to)
    inner join fatf
        on upper(residences.country_code) = fatf.country_code
        and transfers_dated.list_date >= fatf.effective_from
        and (fatf.effective_to is null or transfers_dated.list_date < fatf.effective_to)

),

login_matches as (

    select distinct
        transfers_dated.transaction_id,
        fatf.country_code,
        'login' as matched_by,
        fatf.severity_rank
    from transfers_dated
    inner join logins
        on transfers_dated.user_id = logins.user_id
        and logins.occurred_at >= {{ dbt.dateadd('hour', -lookback_hours, 'transfers_dated.created_at') }}
        and transfers_dated.created_at >= logins.occurred_at
    inner join fatf
        on upper(logins.country_code) = fatf.country_code
        and transfers_dated.list_date >= fatf.effective_from
        and (fatf.effective_to is null or transfers_dated.list_date < fatf.effective_to)

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
        {{ dbt.hash(dbt.concat([
            "'high_risk_country|'", 'transfers_dated.user_id', "'|'", 'transfers_dated.transaction_id'
        ])) }}
            as alert_id,
        'high_risk_country' as rule_name,
        transfers_dated.user_id,
        case per_transfer.severity_rank
            when 4 then 'critical' when 3 then 'high' when 2 then 'medium' else 'low'
        end as severity,
        transfers_dated.transaction_id as hit_key,
        transfers_dated.amount_usd,
        'transaction' as evidence_type,
        transfers_dated.transaction_id as evidence_ids,
        1 as evidence_count,
        'FATF-listed country: ' || per_transfer.matched_countries
        || case
            when transfers_dated.earliest_list_applied is not null
                then '; judged on the earliest FATF lists held ('
                    || {{ dbt.cast('transfers_dated.earliest_list_applied', dbt.type_string()) }}
                    || '): the transfer predates them'
            else ''
        end as alert_details,
        transfers_dated.created_at as pattern_started_at,
        transfers_dated.created_at as detected_at
    from transfers_dated
    inner join per_transfer
        on transfers_dated.transaction_id = per_transfer.transaction_id

)

select * from final
