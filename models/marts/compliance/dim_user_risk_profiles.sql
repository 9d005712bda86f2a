-- One row per user: the compliance view of the user. Country risk from the FATF lists (seed),
-- the countries the user logged in from, KYC level and risk score, tier, the user's alerts
-- counted by source and severity, and a composite risk score with its level.
--
-- risk_score (0 to 100) adds up, capped at 100:
--   country of residence on the FATF black list 40, grey list 20;
--   a successful login from a black-list country 20, from a grey-list country 10 (the higher);
--   KYC: risk_score (0 to 1) x 20, plus 10 when KYC is not approved;
--   alerts of every source: critical 25, high 15, medium 5, low 1 each, at most 40 in all.
-- risk_level: high from 60, medium from 30, low below.

with

users as (

    select * from {{ ref('dim_users') }}

),

-- The lists in force now (the seed holds the list's history; an open period has no
-- effective_to): this profile is the user's current view. The rule high_risk_country judges
-- each transfer on the lists of its own day instead.
fatf as (

    select
        country_code,
        fatf_list
    from {{ ref('fatf_high_risk_countries') }}
    where effective_to is null

),

logins as {{ not_materialized() }} (

    select
        user_id,
        country_code,
        occurred_at
    from {{ ref('stg_exchange__login_events') }}
    where event_type = 'login_success'

),

alerts as (

    -- a data-quality alert says the ledger is broken, not that the user is risky
    select * from {{ ref('fct_compliance_alerts') }}
    where user_id is not null
        and alert_source <> 'data_quality'

),

login_country_risk as (

    select
        logins.user_id,
        count(distinct logins.country_code) as login_country_count,
        max(case fatf.fatf_list when 'black' then 2 when 'grey' then 1 else 0 end) as login_fatf_rank
    from logins
    left join fatf
        on upper(logins.country_code) = fatf.country_code
    group by logins.user_id

),

last_login as (

    select
        user_id,
        country_code as last_login_country_code
    from (
        select
            user_id,
            country_code,
            row_number() over (partition by user_id order by occurred_at desc) as login_rank
        from logins
    ) as ranked
    where login_rank = 1

),

alert_counts as (

    select
        user_id,
        count(*) as alert_count,
        sum(case when alert_source = 'rule' then 1 else 0 end) as rule_alert_count,
        sum(case when alert_source = 'system' then 1 else 0 end) as system_alert_count,
        sum(case when alert_source = 'security' then 1 else 0 end) as security_alert_count,
        sum(case when severity = 'critical' then 1 else 0 end) as critical_alert_count,
        sum(case when severity = 'high' then 1 else 0 end) as high_alert_count,
        sum(case when severity = 'medium' then 1 else 0 end) as medium_alert_count,
        sum(case when severity = 'low' then 1 else 0 end) as low_alert_count,
        sum(case when investigation_status = 'pending' then 1 else 0 end) as pending_alert_count,
        sum(case when is_sar_candidate then 1 else 0 end) as sar_candidate_count,
        count(distinct case when alert_source = 'rule' then rule_name end) as distinct_rules_hit,
        min(detected_at) as first_alert_at,
        max(detected_at) as last_alert_at
    from alerts
    group by user_id

),

profiles as (

    select
        users.user_id,
        users.user_status,
        users.tier_name,
        users.registered_at,
        users.country_code,
        residence_fatf.fatf_list as country_fatf_list,
        case
            when users.country_code is null then 'unknown'
            when residence_fatf.fatf_list = 'black' then 'high'
            when residence_fatf.fatf_list = 'grey' then 'medium'
            else 'low'
        end as country_risk_level,
        last_login.last_login_country_code,
        coalesce(login_country_risk.login_country_count, 0) as login_country_count,
        case login_country_risk.login_fatf_rank when 2 then 'black' when 1 then 'grey' end
            as highest_login_fatf_list,
        users.kyc_level,
        users.kyc_status,
        users.kyc_risk_score,
        coalesce(alert_counts.alert_count, 0) as alert_count,
        coalesce(alert_counts.rule_alert_count, 0) as rule_alert_count,
        coalesce(alert_counts.system_alert_count, 0) as system_alert_count,
        coalesce(alert_counts.security_alert_count, 0) as security_alert_count,
        coalesce(alert_counts.critical_alert_count, 0) as critical_alert_count,
        coalesce(alert_counts.high_alert_count, 0) as high_alert_count,
        coalesce(alert_counts.medium_alert_count, 0) as medium_alert_count,
        coalesce(alert_counts.low_alert_count, 0) as low_alert_count,
        coalesce(alert_counts.pending_alert_count, 0) as pending_alert_count,
        coalesce(alert_counts.sar_candidate_count, 0) as sar_candidate_count,
        coalesce(alert_counts.distinct_rules_hit, 0) as distinct_rules_hit,
        alert_counts.first_alert_at,
        alert_counts.last_alert_at,
        case residence_fatf.fatf_list when 'black' then 40 when 'grey' then 20 else 0 end as country_points,
        case login_country_risk.login_fatf_rank when 2 then 20 when 1 then 10 else 0 end as login_country_points,
        coalesce(cast(users.kyc_risk_score as {{ type_double() }}), 0) * 20
        + case when users.kyc_status = 'approved' then 0 else 10 end as kyc_points,
        least(
            40,
            25 * coalesce(alert_counts.critical_alert_count, 0)
            + 15 * coalesce(alert_counts.high_alert_count, 0)
            + 5 * coalesce(alert_counts.medium_alert_count, 0)
            + 1 * coalesce(alert_counts.low_alert_count, 0)
        ) as alert_points
    from users
    left join fatf as residence_fatf
        on upper(users.country_code) = residence_fatf.country_code
    left join login_country_risk
        on users.user_id = login_country_risk.user_id
    left join last_login
        on users.user_id = last_login.user_id
    left join alert_counts
        on users.user_id = alert_counts.user_id

),

final as (

    select
        *,
        least(100, country_points + login_country_points + kyc_points + alert_points) as risk_score,
        case
            when least(100, country_points + login_country_points + kyc_points + alert_points) >= 60 then 'high'
            when least(100, country_points + login_country_points + kyc_points + alert_points) >= 30 then 'medium'
            else 'low'
        end as risk_level
    from profiles

)

select * from final
