with

source as (

    select * from {{ source('exchange', 'fee_collections') }}

),

latest as (

    {{ latest_version('source', ['fee_id'], version_column=none) }}

),

renamed as (

    select
        fee_id,
        user_id,
        fee_type,
        fee_amount,
        fee_asset,
        trading_pair_id as pair_id,
        collected_at,
        _loaded_at as loaded_at
    from latest

)

select * from renamed
