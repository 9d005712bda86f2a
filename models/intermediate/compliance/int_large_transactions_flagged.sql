-- Rule large_transaction (docs/aml_rules.md): one hit per completed deposit or withdrawal of at
-- least var('large_transaction_min_usd') in USD at its own time.

with

transfers as (

    select * from {{ ref('int_transfers_completed') }}

),

hits as (

    select
        transaction_id,
        user_id,
        transaction_type,
        asset,
        amount_usd,
        created_at
    from transfers
    where amount_usd >= {{ var('large_transaction_min_usd') }}

),

final as (

    select
        {{ dbt.hash(dbt.concat(["'large_transaction|'", 'user_id', "'|'", 'transaction_id'])) }} as alert_id,
        'large_transaction' as rule_name,
        user_id,
        cast(null as {{ dbt.type_string() }}) as severity,
        transaction_id as hit_key,
        amount_usd,
        'transaction' as evidence_type,
        transaction_id as evidence_ids,
        1 as evidence_count,
        transaction_type || ' of ' || asset as alert_details,
        created_at as pattern_started_at,
        created_at as detected_at
    from hits

)

select * from final
