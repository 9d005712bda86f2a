-- One row per source table, UTC day of quarantine and reason category (the kind of the
-- record's first reason: stg_loader__quarantined_rows): how many records the loaders refused,
-- in how many files, and one example reason. Days without quarantined rows have no row.

with

quarantined as (

    select * from {{ ref('stg_loader__quarantined_rows') }}

),

final as (

    select
        source_table,
        {{ to_day('quarantined_at') }} as quarantine_date,
        reason_category,
        count(*) as rows_quarantined,
        count(distinct source_file) as files_affected,
        min(reason) as example_reason
    from quarantined
    group by source_table, {{ to_day('quarantined_at') }}, reason_category

)

select * from final
