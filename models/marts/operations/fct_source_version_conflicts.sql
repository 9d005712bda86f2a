-- One row per source table, key and version with conflicting rows
-- (docs/landing_contract.md#keys-and-versions): rows that arrived with the same key and the same
-- version but different values, within one file or across files. One of them is kept by the version
-- rule (the row loaded last: kept_source_file, kept_row_number); every conflict is listed here,
-- counted by the daily report and by the warn-severity test assert_no_source_version_conflicts.

with

conflicts as (

    select * from {{ ref('stg_loader__version_conflicts') }}

),

final as (

    select
        source_table,
        conflict_key,
        version_at,
        status_rank,
        conflicting_rows,
        files as files_involved,
        source_files,
        differing_columns,
        kept_source_file,
        kept_row_number,
        first_loaded_at,
        last_loaded_at
    from conflicts

)

select * from final
