-- docs/kpis.md: a daily series covers every day of data, so summed over all its days each
-- daily count of fct_daily_exchange_kpis equals the count of its events in the staging tables:
-- no registration, KYC approval, order, fill or first trade falls outside the date spine or
-- is counted twice. Returns each figure whose sum differs. A KPI counting a new kind of event
-- adds its line here (and the event to int_dates_spined, the spine of dim_dates).

with

kpis as (

    select
        sum(new_registrations) as new_registrations,
        sum(kyc_approvals) as kyc_approvals,
        sum(orders_placed) as orders_placed,
        sum(orders_executed) as orders_executed,
        sum(trade_count) as trade_count,
        sum(first_time_traders) as first_time_traders
    from {{ ref('fct_daily_exchange_kpis') }}

),

sources as (

    select
        (select count(*) from {{ ref('stg_exchange__users') }}
            where registered_at is not null) as new_registrations,
        (select count(*) from {{ ref('stg_exchange__user_kyc') }}
            where verification_status = 'approved' and approved_at is not null) as kyc_approvals,
        (select count(*) from {{ ref('stg_exchange__orders') }}
            where placed_at is not null) as orders_placed,
        (select count(*) from {{ ref('stg_exchange__orders') }}
            where placed_at is not null and filled_quantity > 0) as orders_executed,
        (select count(*) from {{ ref('stg_exchange__trades') }}) as trade_count,
        (select count(distinct user_id) from {{ ref('stg_exchange__trades') }}) as first_time_traders

),

compared as (

    {% for figure in ['new_registrations', 'kyc_approvals', 'orders_placed', 'orders_executed',
                      'trade_count', 'first_time_traders'] %}
    select
        '{{ figure }}' as figure,
        coalesce(kpis.{{ figure }}, 0) as daily_sum,
        sources.{{ figure }} as source_count
    from kpis
    cross join sources
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select *
from compared
where daily_sum <> source_count
