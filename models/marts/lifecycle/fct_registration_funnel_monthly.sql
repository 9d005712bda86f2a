-- One row per registration month (calendar month, UTC) from the first registration or day of
-- data to the last: the conversion funnel of docs/kpis.md, each rate beside its target.
-- registered -> kyc_approved (of those, KYC status approved) -> first_traded (of those
-- KYC-approved, users with at least one fill as of the last day of data).

with

users as (

    select * from {{ ref('dim_users') }}

),

dates as (

    select * from {{ ref('dim_dates') }}

),

targets as (

    select * from {{ ref('kpi_targets') }}

),

registrations as (

    select
        cast({{ dbt.date_trunc('month', 'registration_date') }} as date) as registration_month,
        count(*) as registered,
        count(case when kyc_status = 'approved' then 1 end) as kyc_approved,
        count(case when kyc_status = 'approved' and first_trade_date is not null then 1 end)
            as first_traded,
        count(case when first_trade_date is not null then 1 end) as traded_any
    from users
    where registration_date is not null
    group by cast({{ dbt.date_trunc('month', 'registration_date') }} as date)

),

-- Months of data without a registration still get a row (zeros, NULL rates).
months as (

    select registration_month from registrations
    union distinct
    select distinct month_start_date from dates

),

target_values as (

    select
        max(case when metric = 'registration_to_kyc_pct' then target_value end) as registration_to_kyc_pct_target,
        max(case when metric = 'kyc_to_first_trade_pct' then target_value end) as kyc_to_first_trade_pct_target
    from targets

),

final as (

    select
        months.registration_month,
        coalesce(registrations.registered, 0) as registered,
        coalesce(registrations.kyc_approved, 0) as kyc_approved,
        coalesce(registrations.first_traded, 0) as first_traded,
        coalesce(registrations.traded_any, 0) as traded_any,
        100 * {{ safe_divide('registrations.kyc_approved', 'registrations.registered') }}
            as registration_to_kyc_pct,
        target_values.registration_to_kyc_pct_target,
        100 * {{ safe_divide('registrations.first_traded', 'registrations.kyc_approved') }}
            as kyc_to_first_trade_pct,
        target_values.kyc_to_first_trade_pct_target,
        100 * {{ safe_divide('registrations.first_traded', 'registrations.registered') }}
            as registration_to_first_trade_pct
    from months
    cross join target_values
    left join registrations
        on months.registration_month = registrations.registration_month

)

select * from final
