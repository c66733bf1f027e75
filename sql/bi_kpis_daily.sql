-- bi_kpis_daily: daily customer-experience KPIs by a named customer dimension, for BI dashboards.
--
-- grain: one row per UTC day, dimension and dimension_value (the grain of cx_kpis_daily)
--
-- Created by cxdata.warehouse.views.create_views after cx_kpis_daily is
-- published. Friendly names over cx_kpis_daily; aggregates only, no personal
-- data. Always filter one dimension: total (value all) for the day's totals,
-- acquisition_channel or customer_kind for a breakdown whose values add up to
-- the total. Every metric of a row is defined for its dimension value, so
-- revenue and NPS of one row describe the same customers. Null means no data
-- (a rate without a denominator, or a source the project lacks), 0 means zero.
-- The channel of a record itself (order, ticket, session channel) is in
-- bi_orders_by_channel_daily, bi_tickets_by_channel_daily,
-- bi_surveys_by_channel_daily and bi_web_by_channel_daily.
--
-- example: Revenue and NPS by month and acquisition channel (NPS weighted by its answers)
--   select cast(date_trunc('month', day) as date) as month, dimension_value as acquisition_channel,
--          sum(revenue) as revenue, max(currency) as currency, sum(nps_answers) as nps_answers,
--          sum(nps_score * nps_answers) / cast(nullif(sum(nps_answers), 0) as double precision) as nps_score
--   from bi_kpis_daily
--   where dimension = 'acquisition_channel'
--   group by 1, 2
--   order by 1, 2
-- example: The last 28 days in total
--   select day, orders, revenue, currency, web_sessions, web_conversion_rate, nps_score, csat_satisfied_share
--   from bi_kpis_daily
--   where dimension = 'total'
--   order by day desc
--   limit 28
-- example: Web conversion of buyers, known contacts and anonymous visitors over the whole history
--   select dimension_value as customer_kind, sum(web_sessions) as web_sessions,
--          sum(converted_web_sessions) / cast(nullif(sum(web_sessions), 0) as double precision) as web_conversion_rate
--   from bi_kpis_daily
--   where dimension = 'customer_kind'
--   group by 1
--   order by 1

create or replace view bi_kpis_daily as
select
    k.date as day,
    k.dimension as dimension,
    k.dimension_value as dimension_value,
    k.csat as csat_satisfied_share,
    k.csat_responses as csat_answers,
    k.nps as nps_score,
    k.nps_responses as nps_answers,
    k.ces_mean as customer_effort_score,
    k.ces_responses as ces_answers,
    k.tickets_opened as tickets_opened,
    k.median_first_response_hours as median_first_response_hours,
    k.median_resolution_hours as median_resolution_hours,
    k.sessions as web_sessions,
    k.converted_sessions as converted_web_sessions,
    k.conversion_rate as web_conversion_rate,
    k.referral_share as referral_session_share,
    k.orders as orders,
    k.revenue as revenue,
    k.new_customers as new_customers,
    k.repeat_customers as repeat_customers,
    k.repeat_rate as repeat_customer_share,
    k.currency as currency
from cx_kpis_daily k;

comment on view bi_kpis_daily is 'Daily customer-experience KPIs by a named customer dimension (CSAT, NPS, CES, service times, web conversion, orders, revenue, repeat rate) under friendly names; aggregates over cx_kpis_daily, no personal data. One row per UTC day, dimension and dimension_value: filter one dimension (total for the day''s totals; acquisition_channel or customer_kind, whose values add up to the total). Counts are 0 and rates null where a loaded source has no record; a source the project lacks is null.';
comment on column bi_kpis_daily.day is 'UTC calendar day.';
comment on column bi_kpis_daily.dimension is 'What the row breaks the day down by: total (dimension_value all), acquisition_channel (how the customer first arrived) or customer_kind (buyer, known_contact, anonymous_visitor).';
comment on column bi_kpis_daily.dimension_value is 'Value of the dimension: all for total; else the customer''s acquisition channel or kind, unknown for records without a customer.';
comment on column bi_kpis_daily.csat_satisfied_share is 'CSAT: share (0..1) of CSAT answers scoring 4 or 5 of 5; null without CSAT answers.';
comment on column bi_kpis_daily.csat_answers is 'Number of CSAT answers; 0 without any, null when the project has no surveys.';
comment on column bi_kpis_daily.nps_score is 'Net Promoter Score in points (-100..100); null without NPS answers. Over several rows weight it by nps_answers.';
comment on column bi_kpis_daily.nps_answers is 'Number of NPS answers; 0 without any, null when the project has no surveys.';
comment on column bi_kpis_daily.customer_effort_score is 'Mean CES answer, 1 to 7; higher means more effort. Null without CES answers.';
comment on column bi_kpis_daily.ces_answers is 'Number of CES answers; 0 without any, null when the project has no surveys.';
comment on column bi_kpis_daily.tickets_opened is 'Service tickets opened; 0 without any, null when the project has no tickets.';
comment on column bi_kpis_daily.median_first_response_hours is 'Median hours to the first response of the tickets opened; null without an answered ticket.';
comment on column bi_kpis_daily.median_resolution_hours is 'Median hours to resolution of the tickets opened (open tickets left out); null without a resolved ticket.';
comment on column bi_kpis_daily.web_sessions is 'Web sessions started; 0 without any, null when the project has no web events.';
comment on column bi_kpis_daily.converted_web_sessions is 'Web sessions with a purchase; 0 without any, null when the project has no web events.';
comment on column bi_kpis_daily.web_conversion_rate is 'Share (0..1) of web sessions with a purchase; null without sessions.';
comment on column bi_kpis_daily.referral_session_share is 'Share (0..1) of web sessions that arrived by referral; null without sessions.';
comment on column bi_kpis_daily.orders is 'Non-refund orders placed; 0 without any, null when the project has no orders.';
comment on column bi_kpis_daily.revenue is 'Net revenue (refunds subtracted), in currency; 0 without orders, null when the project has no orders.';
comment on column bi_kpis_daily.new_customers is 'Customers placing their first order; 0 without any.';
comment on column bi_kpis_daily.repeat_customers is 'Ordering customers who had ordered before; 0 without any.';
comment on column bi_kpis_daily.repeat_customer_share is 'Share (0..1) of ordering customers who are repeat customers; null without ordering customers.';
comment on column bi_kpis_daily.currency is 'ISO 4217 code of revenue: cx_kpis_daily.currency, the project setting currency.';
