-- Rule structuring (docs/aml_rules.md): at least var('structuring_min_count') deposits (or as
-- many withdrawals) of one user, each in [band_low, band_high) USD, within
-- var('structuring_window_hours') hours, together at least var('structuring_min_total_usd').
--
-- Every in-band transfer closes a window: the same user's in-band transfers of the same type
-- in the hours before it, bounds included (a transfer exactly 24 hours earlier is inside,
-- 24 hours and 1 second earlier is not). A window that qualifies is a hit, detected at its
-- closing transfer. A qualifying window closed within the window length after another
-- qualifying window of the same user and type continues that pattern and raises no new
-- alert, so a run of ten such deposits is one alert, not eight.

{%- set window_hours = var('structuring_window_hours') %}

with

transfers as {{ not_materialized() }} (

    select * from {{ ref('int_transfers_completed') }}

),

in_band as (

    select
        transaction_id,
        user_id,
        transaction_type,
        amount_usd,
        created_at
    from transfers
    where amount_usd >= {{ var('structuring_band_low_usd') }}
        and amount_usd < {{ var('structuring_band_high_usd') }}

),

window_members as (

    select
        closing.transaction_id as closing_transaction_id,
        closing.user_id,
        closing.transaction_type,
        closing.created_at as closed_at,
        member.transaction_id,
        member.amount_usd,
        member.created_at
    from in_band as closing
    inner join in_band as member
        on closing.user_id = member.user_id
        and closing.transaction_type = member.transaction_type
        and member.created_at >= {{ dbt.dateadd('hour', -window_hours, 'closing.created_at') }}
        and (
            closing.created_at > member.created_at
            or (closing.created_at = member.created_at and closing.transaction_id >= member.transaction_id)
        )

),

windows as (

    select
        closing_transaction_id,
        user_id,
        transaction_type,
        closed_at,
        count(*) as transfer_count,
        sum(amount_usd) as total_usd
    from window_members
    group by closing_transaction_id, user_id, transaction_type, closed_at

),

qualifying as (

    select * from windows
    where transfer_count >= {{ var('structuring_min_count') }}
        and total_usd >= {{ var('structuring_min_total_usd') }}

),

first_of_pattern as (

    select qualifying.*
    from qualifying
    where not exists (
            select 1
            from qualifying as earlier
            where earlier.user_id = qualifying.user_id
                and earlier.transaction_type = qualifying.transaction_type
                and earlier.closed_at >= {{ dbt.dateadd('hour', -window_hours, 'qualifying.closed_at') }}
                and (
                    earlier.closed_at < qualifying.closed_at
                    or (
                        earlier.closed_at = qualifying.closed_at
                        and earlier.closing_transaction_id < qualifying.closing_transaction_id
                    )
                )
        )

),

evidence as (

    select
        window_members.closing_transaction_id,
        {{ dbt.listagg(
            'window_members.transaction_id', "','",
            'order by window_members.created_at, window_members.transaction_id'
        ) }} as evidence_ids,
        min(window_members.created_at) as pattern_started_at
    from window_members
    inner join first_of_pattern
        on window_members.closing_transaction_id = first_of_pattern.closing_transaction_id
    group by window_members.closing_transaction_id

),

final as (

    select
        {{ dbt.hash(dbt.concat([
            "'structuring|'", 'first_of_pattern.user_id', "'|'", 'first_of_pattern.closing_transaction_id'
        ])) }} as alert_id,
        'structuring' as rule_name,
        first_of_pattern.user_id,
        cast(null as {{ dbt.type_string() }}) as severity,
        first_of_pattern.closing_transaction_id as hit_key,
        first_of_pattern.total_usd as amount_usd,
        'transaction' as evidence_type,
        evidence.evidence_ids,
        first_of_pattern.transfer_count as evidence_count,
        first_of_pattern.transaction_type || 's in the structuring band' as alert_details,
        evidence.pattern_started_at,
        first_of_pattern.closed_at as detected_at
    from first_of_pattern
    inner join evidence
        on first_of_pattern.closing_transaction_id = evidence.closing_transaction_id

)

select * from final
