-- One row per deleted key of the operational database: its latest tombstone (docs/deletes.md).
-- A key deleted, inserted again and deleted again has several tombstones; the staging models
-- compare the last one's landing time with the latest version's.

with

source as (

    select * from {{ source('oltp', 'deletions') }}

),

per_key as (

    select
        table_name,
        row_key,
        max(deleted_at) as deleted_at,
        max(_loaded_at) as loaded_at,
        count(*) as deletion_count
    from source
    group by table_name, row_key

)

select * from per_key
