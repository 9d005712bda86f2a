{{
    config(
        materialized='incremental',
        unique_key='wallet_id',
        incremental_strategy=incremental_strategy(),
        on_schema_change='append_new_columns',
    )
}}

-- An incremental table: every wallet version is a row of raw (about eight per wallet), and the
-- wallet tests read the latest ones every run. A run re-ranks every raw version of each wallet
-- with a row loaded since the last run (has_versions_loaded_since_last_run), so the stored
-- row is replaced by exactly what a full refresh would keep.

with

source as (

    select * from {{ source('exchange', 'wallets') }}
    {% if is_incremental() %}
    where {{ has_versions_loaded_since_last_run('wallet_id', source('exchange', 'wallets')) }}
        -- and the wallets whose tombstone landed since: a delete is a change of the wallet
        or wallet_id in (
            select row_key from {{ ref('stg_exchange__deletions') }}
            where table_name = 'wallets' and loaded_at > {{ incremental_watermark('loaded_at') }}
        )
    {% endif %}

),

latest as (

    {{ latest_version('source', ['wallet_id'], table='wallets') }}

),

-- Deleted in the operational database (docs/deletes.md): the wallet was closed; flagged and
-- kept (its balances and ledger are the custody record), never removed.
deletions as (

    select row_key, deleted_at, loaded_at
    from {{ ref('stg_exchange__deletions') }}
    where table_name = 'wallets'

),

renamed as (

    select
        latest.wallet_id,
        latest.user_id,
        latest.asset,
        latest.balance,
        latest.locked_balance,
        latest.updated_at,
        coalesce(deletions.loaded_at >= latest._loaded_at, false) as is_deleted,
        case when deletions.loaded_at >= latest._loaded_at then deletions.deleted_at end as deleted_at,
        -- the watermark: a tombstone landed later is this wallet's newest change
        case
            when deletions.loaded_at >= latest._loaded_at then deletions.loaded_at
            else latest._loaded_at
        end as loaded_at
    from latest
    left join deletions
        on latest.wallet_id = deletions.row_key

)

select * from renamed
