-- One row per source table and UTC load day with anything recorded: files and rows the
-- loaders handled that day (raw._loaded_files), rows quarantined, the rows of the day's loads
-- found in raw, and freshness: how old the newest event of the day's loads was when it
-- landed (freshness_lag_hours = last load of the day - newest event time loaded that day).

with

loaded_files as (

    select * from {{ ref('stg_loader__loaded_files') }}

),

raw_rows as (

    select * from {{ ref('stg_loader__raw_rows_daily') }}

),

files_daily as (

    select
        source_table,
        {{ to_day('loaded_at') }} as load_date,
        sum(case when file_status = 'loaded' and not is_duplicate_content then 1 else 0 end) as files_loaded,
        sum(case when is_duplicate_content then 1 else 0 end) as files_duplicate,
        sum(case when file_status = 'rejected' then 1 else 0 end) as files_rejected,
        sum(rows_loaded) as rows_loaded,
        sum(rows_quarantined) as rows_quarantined,
        sum(load_seconds) as load_seconds
    from loaded_files
    group by source_table, {{ to_day('loaded_at') }}

),

raw_daily as (

    select
        source_table,
        load_date,
        sum(row_count) as rows_in_raw,
        min(first_event_at) as oldest_event_at,
        max(last_event_at) as newest_event_at,
        max(last_loaded_at) as last_loaded_at
    from raw_rows
    group by source_table, load_date

),

joined as (

    select
        coalesce(files_daily.source_table, raw_daily.source_table) as source_table,
        coalesce(files_daily.load_date, raw_daily.load_date) as load_date,
        coalesce(files_daily.files_loaded, 0) as files_loaded,
        coalesce(files_daily.files_duplicate, 0) as files_duplicate,
        coalesce(files_daily.files_rejected, 0) as files_rejected,
        coalesce(files_daily.rows_loaded, 0) as rows_loaded,
        coalesce(files_daily.rows_quarantined, 0) as rows_quarantined,
        coalesce(raw_daily.rows_in_raw, 0) as rows_in_raw,
        files_daily.load_seconds,
        raw_daily.oldest_event_at,
        raw_daily.newest_event_at,
        raw_daily.last_loaded_at,
        {{ dbt.datediff('raw_daily.newest_event_at', 'raw_daily.last_loaded_at', 'second') }} as freshness_lag_seconds  -- noqa: LT05
    from files_daily
    full outer join raw_daily
        on
        files_daily.source_table = raw_daily.source_table
        and files_daily.load_date = raw_daily.load_date

),

final as (

    select
        source_table,
        load_date,
        files_loaded,
        files_duplicate,
        files_rejected,
        rows_loaded,
        rows_quarantined,
        rows_loaded + rows_quarantined as rows_landed,
        {{ safe_divide('rows_quarantined', 'rows_loaded + rows_quarantined') }} as quarantine_rate,
        rows_in_raw,
        load_seconds,
        {{ safe_divide('rows_loaded + rows_quarantined', 'load_seconds') }} as rows_per_second,
        oldest_event_at,
        newest_event_at,
        last_loaded_at,
        freshness_lag_seconds / 3600.0 as freshness_lag_hours
    from joined

)

select * from final
