-- One row per retention campaign: its members, how many of each group traded within
-- N = campaign_retention_days days of the campaign day (that day included), the design
-- document's Campaign Success = retained / targeted (targeted = contacted, the treatment group)
-- and the uplift over the random control group with a 95% Newcombe interval (doc block
-- campaign_uplift_interval). A campaign whose window is not yet over the last day of data E
-- keeps its counts but NULL rates and uplift.

{%- set n_days = var('campaign_retention_days') %}
{%- set z = var('campaign_uplift_z') %}

with

members as (

    select
        campaign_id,
        campaign_name,
        action,
        user_id,
        campaign_group,
        cast({{ to_day('targeted_at') }} as date) as targeted_date
    from {{ ref('stg_crm__marketing_campaigns') }}

),

trading_days as (

    select * from {{ ref('int_user_trading_days') }}

),

last_day as (

    select max(date_day) as as_of_date from {{ ref('dim_dates') }}

),

campaign_days as (

    -- a campaign's day is its first targeting day; its window the N days from there
    select
        campaign_id,
        min(targeted_date) as targeted_date,
        cast({{ dbt.dateadd('day', n_days - 1, 'min(targeted_date)') }} as date) as window_end_date
    from members
    group by campaign_id

),

member_retention as (

    select
        members.campaign_id,
        members.user_id,
        members.campaign_group,
        max(case when trading_days.user_id is not null then 1 else 0 end) as is_retained
    from members
    inner join campaign_days
        on members.campaign_id = campaign_days.campaign_id
    left join trading_days
        on members.user_id = trading_days.user_id
        and trading_days.trade_date between campaign_days.targeted_date and campaign_days.window_end_date
    group by members.campaign_id, members.user_id, members.campaign_group

),

counts as (

    select
        campaign_id,
        cast(sum(case when campaign_group = 'treatment' then 1 else 0 end) as {{ dbt.type_int() }}) as targeted_users,
        cast(sum(case when campaign_group = 'treatment' then is_retained else 0 end) as {{ dbt.type_int() }})
            as retained_users,
        cast(sum(case when campaign_group = 'control' then 1 else 0 end) as {{ dbt.type_int() }}) as control_users,
        cast(sum(case when campaign_group = 'control' then is_retained else 0 end) as {{ dbt.type_int() }})
            as control_retained_users
    from member_retention
    group by campaign_id

),

named as (

    select
        campaign_id,
        min(campaign_name) as campaign_name,
        min(action) as action
    from members
    group by campaign_id

),

rates as (

    select
        counts.campaign_id,
        named.campaign_name,
        named.action,
        campaign_days.targeted_date,
        {{ n_days }} as retention_days,
        campaign_days.window_end_date,
        campaign_days.window_end_date <= last_day.as_of_date as is_window_complete,
        counts.targeted_users,
        counts.retained_users,
        counts.control_users,
        counts.control_retained_users,
        case when campaign_days.window_end_date <= last_day.as_of_date and counts.targeted_users > 0
                then counts.retained_users / cast(counts.targeted_users as {{ type_double() }})
        end as p1,
        case when campaign_days.window_end_date <= last_day.as_of_date and counts.control_users > 0
                then counts.control_retained_users / cast(counts.control_users as {{ type_double() }})
        end as p0,
        cast(nullif(counts.targeted_users, 0) as {{ type_double() }}) as n1,
        cast(nullif(counts.control_users, 0) as {{ type_double() }}) as n0
    from counts
    inner join named
        on counts.campaign_id = named.campaign_id
    inner join campaign_days
        on counts.campaign_id = campaign_days.campaign_id
    cross join last_day

),

wilson as (

    -- Wilson score interval of each group's proportion (Newcombe 1998, method 10, step 1)
    select
        *,
        (
            p1 + {{ z }} * {{ z }} / (2 * n1)
            - {{ z }} * sqrt(p1 * (1 - p1) / n1 + {{ z }} * {{ z }} / (4 * n1 * n1))
        )
        / (1 + {{ z }} * {{ z }} / n1) as p1_lower,
        (
            p1 + {{ z }} * {{ z }} / (2 * n1)
            + {{ z }} * sqrt(p1 * (1 - p1) / n1 + {{ z }} * {{ z }} / (4 * n1 * n1))
        )
        / (1 + {{ z }} * {{ z }} / n1) as p1_upper,
        (
            p0 + {{ z }} * {{ z }} / (2 * n0)
            - {{ z }} * sqrt(p0 * (1 - p0) / n0 + {{ z }} * {{ z }} / (4 * n0 * n0))
        )
        / (1 + {{ z }} * {{ z }} / n0) as p0_lower,
        (
            p0 + {{ z }} * {{ z }} / (2 * n0)
            + {{ z }} * sqrt(p0 * (1 - p0) / n0 + {{ z }} * {{ z }} / (4 * n0 * n0))
        )
        / (1 + {{ z }} * {{ z }} / n0) as p0_upper
    from rates

),

final as (

    select
        campaign_id,
        campaign_name,
        action,
        targeted_date,
        retention_days,
        window_end_date,
        is_window_complete,
        targeted_users,
        retained_users,
        p1 as success_rate,
        control_users,
        control_retained_users,
        p0 as control_retention_rate,
        p1 - p0 as uplift,
        -- Newcombe's hybrid score interval for p1 - p0 (step 2)
        p1 - p0 - sqrt((p1 - p1_lower) * (p1 - p1_lower) + (p0_upper - p0) * (p0_upper - p0)) as uplift_ci_lower,
        p1 - p0 + sqrt((p1_upper - p1) * (p1_upper - p1) + (p0 - p0_lower) * (p0 - p0_lower)) as uplift_ci_upper
    from wilson

)

select
    *,
    case
        when uplift_ci_lower > 0 then 'positive'
        when uplift_ci_upper < 0 then 'negative'
        when uplift_ci_lower is not null then 'inconclusive'
    end as uplift_verdict
from final
