with

source as (

    select * from {{ source('exchange', 'wallets') }}

),

latest as (

    {{ latest_version('source', ['wallet_id'], version_column='updated_at') }}

),

renamed as (

    select
        wallet_id,
        user_id,
        asset,
        balance,
        locked_balance,
        updated_at,
        _loaded_at as loaded_at
    from latest

)

select * from renamed
