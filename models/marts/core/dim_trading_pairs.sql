-- One row per trading pair.

with

pairs as (

    select * from {{ ref('stg_exchange__trading_pairs') }}

),

final as (

    select
        pair_id,
        symbol,
        base_asset,
        quote_asset,
        status as pair_status,
        status = 'active' as is_active,
        min_order_size,
        maker_fee_rate,
        taker_fee_rate,
        created_at as listed_at
    from pairs

)

select * from final
