with

source as (

    select * from {{ source('exchange', 'transactions') }}

),

latest as (

    {{ latest_version('source', ['transaction_id'], version_column=none) }}

),

renamed as (

    select
        transaction_id,
        user_id,
        transaction_type,
        asset,
        amount,
        balance_before,
        balance_after,
        reference_id,
        status,
        created_at,
        _loaded_at as loaded_at
    from latest

)

select * from renamed
