{{ config(severity='warn') }}
-- The exchange's hourly closes stay within var('external_price_deviation_alert_bps') of every
-- external reference price. Warns (never fails the build): the simulator plants deviations on
-- purpose (labelled in _simulator/planted_cases.csv); the rows returned are the alerts.

select
    pair_id,
    symbol,
    candle_hour,
    source,
    exchange_close_usd,
    external_price_usd,
    deviation_bps
from {{ ref('fct_external_price_deviations_hourly') }}
where is_deviation_alert
