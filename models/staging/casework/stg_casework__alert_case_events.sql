-- One row per recorded decision on a compliance alert (the audit trail written by
-- `python -m compliance review`, doc block compliance_casework). A source dbt never builds.

with

source as (

    select * from {{ source('casework', 'alert_case_events') }}

),

renamed as (

    select
        alert_id,
        event_number,
        changed_at,
        changed_by,
        status_from,
        status_to,
        disposition_from,
        disposition_to,
        assignee_from,
        assignee_to,
        note
    from source

)

select * from renamed
