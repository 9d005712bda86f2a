-- A Dagster asset check of dim_user_segments (the test reads several models; orchestration/assets/dbt.py).
{{ config(meta={'dagster': {'ref': {'name': 'dim_user_segments'}}}) }}

-- dim_user_segments has one row for every user of dim_users, and a trader's churned stage agrees
-- with dim_user_trading_activity. Returns the users that break either.

with

users as (

    select user_id from {{ ref('dim_users') }}

),

segments as (

    select
        user_id,
        lifecycle_stage
    from {{ ref('dim_user_segments') }}

),

activity as (

    select
        user_id,
        is_churned
    from {{ ref('dim_user_trading_activity') }}

)

select
    users.user_id,
    cast(null as {{ dbt.type_string() }}) as lifecycle_stage,
    cast(null as boolean) as is_churned,
    'missing segment' as problem
from users
left join segments
    on users.user_id = segments.user_id
where segments.user_id is null

union all

select
    segments.user_id,
    segments.lifecycle_stage,
    activity.is_churned,
    'churned stage disagrees with dim_user_trading_activity' as problem
from segments
inner join activity
    on segments.user_id = activity.user_id
where (segments.lifecycle_stage = 'churned') <> activity.is_churned
