-- Rule shared_ip (docs/aml_rules.md): var('shared_ip_min_users') or more distinct users log in
-- successfully from one IP address within var('shared_ip_window_days') days.
--
-- One IP address is staging's ip_address_hash: the keyed hash of the exact IPv4 address, or of
-- the /64 an IPv6 subscriber is given (docs: _compliance__docs.md, "What one IP address
-- means"). Full addresses never leave the raw layer (docs/reliability.md#security); the alert shows
-- the hash and the /24 or /48 network. Users of one carrier network, corporate NAT range or VPN
-- provider share a network, not an address, and are not grouped. Every login closes a window
-- of the logins from its address in the days before it (bounds included); a window with
-- enough distinct users qualifies. Each user of a qualifying window gets one alert per
-- address, detected at the first qualifying window that includes them (for the first users
-- that is the login of the user who completed the group, not their own earlier login).

{%- set window_days = var('shared_ip_window_days') %}

with

logins as {{ not_materialized() }} (

    select
        event_id,
        user_id,
        ip_address_hash,
        ip_network,
        occurred_at
    from {{ ref('stg_exchange__login_events') }}
    where event_type = 'login_success'
        and ip_address_hash is not null

),

candidate_addresses as (

    select ip_address_hash
    from logins
    group by ip_address_hash
    having count(distinct user_id) >= {{ var('shared_ip_min_users') }}

),

candidate_logins as (

    select logins.*
    from logins
    inner join candidate_addresses
        on logins.ip_address_hash = candidate_addresses.ip_address_hash

),

window_members as (

    select
        closing.event_id as closing_event_id,
        closing.ip_address_hash,
        closing.ip_network,
        closing.occurred_at as closed_at,
        member.user_id,
        member.occurred_at
    from candidate_logins as closing
    inner join candidate_logins as member
        on closing.ip_address_hash = member.ip_address_hash
        and member.occurred_at >= {{ dbt.dateadd('day', -window_days, 'closing.occurred_at') }}
        and closing.occurred_at >= member.occurred_at

),

qualifying_windows as (

    select closing_event_id
    from window_members
    group by closing_event_id
    having count(distinct user_id) >= {{ var('shared_ip_min_users') }}

),

user_detections as (

    select
        window_members.ip_address_hash,
        window_members.ip_network,
        window_members.user_id,
        min(window_members.closed_at) as detected_at
    from window_members
    inner join qualifying_windows
        on window_members.closing_event_id = qualifying_windows.closing_event_id
    group by window_members.ip_address_hash, window_members.ip_network, window_members.user_id

),

network_users as (

    -- The users with a login from the address in the window of each detection: the group the
    -- alert points at.
    select
        user_detections.ip_address_hash,
        user_detections.ip_network,
        user_detections.user_id,
        user_detections.detected_at,
        candidate_logins.user_id as co_user_id,
        min(candidate_logins.occurred_at) as first_login_at
    from user_detections
    inner join candidate_logins
        on user_detections.ip_address_hash = candidate_logins.ip_address_hash
        and user_detections.detected_at >= candidate_logins.occurred_at
        and candidate_logins.occurred_at >= {{ dbt.dateadd('day', -window_days, 'user_detections.detected_at') }}
    group by
        user_detections.ip_address_hash,
        user_detections.ip_network,
        user_detections.user_id,
        user_detections.detected_at,
        candidate_logins.user_id

),

evidence as (

    select
        ip_address_hash,
        ip_network,
        user_id,
        detected_at,
        count(*) as evidence_count,
        {{ dbt.listagg('co_user_id', "','", 'order by first_login_at, co_user_id') }} as evidence_ids,
        min(first_login_at) as pattern_started_at
    from network_users
    group by ip_address_hash, ip_network, user_id, detected_at

),

final as (

    select
        {{ dbt.hash(dbt.concat(["'shared_ip|'", 'user_id', "'|'", 'ip_address_hash'])) }} as alert_id,
        'shared_ip' as rule_name,
        user_id,
        cast(null as {{ dbt.type_string() }}) as severity,
        ip_address_hash as hit_key,
        cast(null as {{ type_double() }}) as amount_usd,
        'user' as evidence_type,
        evidence_ids,
        evidence_count,
        'logins from one IP address (hash ' || ip_address_hash || ') in network '
        || coalesce(ip_network, 'unknown') as alert_details,
        pattern_started_at,
        detected_at
    from evidence

)

select * from final
