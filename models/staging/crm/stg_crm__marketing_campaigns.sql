with

source as (

    select * from {{ source('crm', 'marketing_campaigns') }}

),

latest as (

    {{ latest_version('source', ['campaign_id', 'user_id'], version_column=none) }}

),

renamed as (

    select
        campaign_id,
        campaign_name,
        action,
        user_id,
        campaign_group,
        targeted_at,
        _loaded_at as loaded_at
    from latest

)

select * from renamed
