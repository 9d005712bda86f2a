-- A profile of the raw schema: rows of every landed table per event day and load day, as
-- loaded (versions of mutable rows and replayed rows included: this is what arrived, before
-- staging keeps the latest version). The event time column of each table is the contract's
-- `event_time` (ingestion/contract.py; tests/python/test_operations.py holds this list to it);
-- user_tiers has none (its rows have no time). A table, not a view: it scans all of raw once.
{{ config(materialized='table') }}

{%- set raw_tables = [
    ('exchange', 'users', 'created_at'),
    ('exchange', 'user_tiers', none),
    ('exchange', 'user_kyc', 'updated_at'),
    ('exchange', 'trading_pairs', 'created_at'),
    ('exchange', 'orders', 'created_at'),
    ('exchange', 'trades', 'executed_at'),
    ('exchange', 'wallets', 'updated_at'),
    ('exchange', 'transactions', 'created_at'),
    ('exchange', 'fee_collections', 'collected_at'),
    ('exchange', 'market_data_1h', 'timestamp'),
    ('exchange', 'order_book_snapshots', 'timestamp'),
    ('exchange', 'security_events', 'created_at'),
    ('exchange', 'compliance_alerts', 'created_at'),
    ('exchange', 'system_metrics', 'recorded_at'),
    ('exchange', 'login_events', 'occurred_at'),
    ('exchange', 'support_tickets', 'created_at'),
    ('market_feeds', 'external_prices', 'observed_at'),
    ('crm', 'marketing_campaigns', 'targeted_at'),
] %}

with

raw_rows as (

    {% for source_name, table_name, event_column in raw_tables %}
        select
            '{{ table_name }}' as source_table,
            cast({{ adapter.quote(event_column) if event_column else 'null' }} as {{ dbt.type_timestamp() }})
                as event_at,
            _loaded_at as loaded_at
        from {{ source(source_name, table_name) }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select
        source_table,
        {{ to_day('event_at') }} as event_date,
        {{ to_day('loaded_at') }} as load_date,
        count(*) as row_count,
        min(event_at) as first_event_at,
        max(event_at) as last_event_at,
        max(loaded_at) as last_loaded_at
    from raw_rows
    group by source_table, {{ to_day('event_at') }}, {{ to_day('loaded_at') }}

)

select * from final
