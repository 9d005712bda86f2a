-- Each alert's current case state: the latest decision recorded on it in the audit trail
-- (stg_casework__alert_case_events), the latest note, and how many decisions it has had.
-- fct_compliance_alerts joins it onto every alert (doc block compliance_casework).

with

events as (

    select * from {{ ref('stg_casework__alert_case_events') }}

),

ranked as (

    select
        events.*,
        row_number() over (partition by events.alert_id order by events.event_number desc) as recency,
        row_number() over (
            partition by events.alert_id
            order by case when events.note is null then 1 else 0 end, events.event_number desc
        ) as note_recency
    from events

),

summary as (

    select
        alert_id,
        count(*) as case_event_count,
        min(changed_at) as first_reviewed_at
    from events
    group by alert_id

),

latest_note as (

    select
        alert_id,
        note as case_note
    from ranked
    where note_recency = 1 and note is not null

),

final as (

    select
        ranked.alert_id,
        ranked.status_to as investigation_status,
        ranked.disposition_to as disposition,
        ranked.assignee_to as assignee,
        latest_note.case_note,
        ranked.changed_at as reviewed_at,
        ranked.changed_by as reviewed_by,
        summary.first_reviewed_at,
        summary.case_event_count
    from ranked
    inner join summary
        on ranked.alert_id = summary.alert_id
    left join latest_note
        on ranked.alert_id = latest_note.alert_id
    where ranked.recency = 1

)

select * from final
