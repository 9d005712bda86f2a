{{ config(severity='warn') }}
-- No two rows of a source key share a version yet differ in value
-- (docs/landing_contract.md#keys-and-versions). Warns (never fails the build): the conflict is the
-- source's, one row is kept by the version rule, and the rows returned
-- (fct_source_version_conflicts) say which key, files and columns.

select
    source_table,
    conflict_key,
    version_at,
    conflicting_rows,
    source_files,
    differing_columns,
    kept_source_file,
    kept_row_number
from {{ ref('fct_source_version_conflicts') }}
