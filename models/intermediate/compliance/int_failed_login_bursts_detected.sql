-- Rule failed_login_burst (docs/aml_rules.md): var('failed_login_burst_min_failures') or more
-- login_failed events of one user within var('failed_login_burst_window_minutes') minutes.
--
-- Every failed login closes a window of the user's failed logins in the minutes before it
-- (bounds included: exactly 10 minutes earlier is inside, 10 minutes and 1 second is not).
-- A qualifying window is a hit, detected at its closing event; a qualifying window closed
-- within the window length after another one of the same user continues the same burst and
-- raises no new alert.

{%- set window_minutes = var('failed_login_burst_window_minutes') %}

with

failures as {{ not_materialized() }} (

    select
        event_id,
        user_id,
        occurred_at
    from {{ ref('stg_exchange__login_events') }}
    where event_type = 'login_failed'

),

candidate_users as (

    select user_id
    from failures
    group by user_id
    having count(*) >= {{ var('failed_login_burst_min_failures') }}

),

candidate_failures as (

    select failures.*
    from failures
    inner join candidate_users
        on failures.user_id = candidate_users.user_id

),

window_members as (

    select
        closing.event_id as closing_event_id,
        closing.user_id,
        closing.occurred_at as closed_at,
        member.event_id,
        member.occurred_at
    from candidate_failures as closing
    inner join candidate_failures as member
        on closing.user_id = member.user_id
        and member.occurred_at >= {{ dbt.dateadd('minute', -window_minutes, 'closing.occurred_at') }}
        and (
            closing.occurred_at > member.occurred_at
            or (closing.occurred_at = member.occurred_at and closing.event_id >= member.event_id)
        )

),

qualifying as (

    select
        closing_event_id,
        user_id,
        closed_at,
        count(*) as failure_count
    from window_members
    group by closing_event_id, user_id, closed_at
    having count(*) >= {{ var('failed_login_burst_min_failures') }}

),

first_of_burst as (

    select qualifying.*
    from qualifying
    where not exists (
            select 1
            from qualifying as earlier
            where earlier.user_id = qualifying.user_id
                and earlier.closed_at >= {{ dbt.dateadd('minute', -window_minutes, 'qualifying.closed_at') }}
                and (
                    earlier.closed_at < qualifying.closed_at
                    or (
                        earlier.closed_at = qualifying.closed_at
                        and earlier.closing_event_id < qualifying.closing_event_id
                    )
                )
        )

),

evidence as (

    select
        window_members.closing_event_id,
        {{ dbt.listagg(
            'window_members.event_id', "','", 'order by window_members.occurred_at, window_members.event_id'
        ) }}
            as evidence_ids,
        min(window_members.occurred_at) as pattern_started_at
    from window_members
    inner join first_of_burst
        on window_members.closing_event_id = first_of_burst.closing_event_id
    group by window_members.closing_event_id

),

final as (

    select
        {{ dbt.hash(dbt.concat([
            "'failed_login_burst|'", 'first_of_burst.user_id', "'|'", 'first_of_burst.closing_event_id'
        ])) }}
            as alert_id,
        'failed_login_burst' as rule_name,
        first_of_burst.user_id,
        cast(null as {{ dbt.type_string() }}) as severity,
        first_of_burst.closing_event_id as hit_key,
        cast(null as {{ type_double() }}) as amount_usd,
        'login_event' as evidence_type,
        evidence.evidence_ids,
        first_of_burst.failure_count as evidence_count,
        'failed logins in a burst' as alert_details,
        evidence.pattern_started_at,
        first_of_burst.closed_at as detected_at
    from first_of_burst
    inner join evidence
        on first_of_burst.closing_event_id = evidence.closing_event_id

)

select * from final
