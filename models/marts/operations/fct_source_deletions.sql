-- One row per key deleted in the operational database, with what the warehouse did about it
-- (docs/deletes.md). Facts (trades, transactions, fee collections) are never removed: their
-- deletes are reported here, for someone to look at, and the fact stays in the marts.

with

deletions as (

    select * from {{ ref('stg_exchange__deletions') }}

),

final as (

    select
        table_name,
        row_key,
        deleted_at,
        loaded_at,
        deletion_count,
        case
            when table_name in ('users', 'user_kyc', 'orders', 'wallets') then 'flagged'
            when table_name in ('trades', 'transactions', 'fee_collections') then 'fact_retained'
            else 'reported'
        end as handling,
        table_name in ('trades', 'transactions', 'fee_collections') as is_fact_retained
    from deletions

)

select * from final
