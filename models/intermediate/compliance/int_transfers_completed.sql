-- One row per completed deposit or withdrawal: the transfers every transaction-based
-- compliance rule reads (docs/aml_rules.md). amount_usd is the absolute USD value at the
-- transaction's own time (withdrawals carry negative amounts in the ledger); NULL where the
-- asset had no USD rate yet, and such rows never satisfy a threshold.

with

transactions as (

    select * from {{ ref('int_transactions_valued') }}

),

final as (

    select
        transaction_id,
        user_id,
        transaction_type,
        asset,
        amount,
        abs(amount_usd) as amount_usd,
        created_at,
        created_date
    from transactions
    where transaction_status = 'completed'
        and transaction_type in ('deposit', 'withdrawal')

)

select * from final
