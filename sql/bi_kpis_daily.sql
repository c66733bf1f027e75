-- bi_kpis_daily: daily customer-experience KPIs by channel for BI dashboards.
--
-- Created by cxdata.warehouse.views.create_views after cx_kpis_daily is
-- published. Friendly names over cx_kpis_daily; aggregates only, no personal data.

create or replace view bi_kpis_daily as
select
    k.date as day,
    k.channel as channel,
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
    k.orders as orders,
    k.revenue as revenue,
    k.new_customers as new_customers,
    k.repeat_customers as repeat_customers,
    k.repeat_rate as repeat_customer_share,
    k.referral_share as referral_session_share,
    cast(:currency as text) as currency
from cx_kpis_daily k;

comment on view bi_kpis_daily is 'Daily customer-experience KPIs by channel (CSAT, NPS, CES, service times, web conversion, orders, revenue, repeat rate) under friendly names; aggregates over cx_kpis_daily, no personal data. Rows with channel all hold the day''s totals.';
comment on column bi_kpis_daily.day is 'UTC calendar day.';
comment on column bi_kpis_daily.channel is 'Channel of the records (ticket channel for service and surveys, session channel for web, order channel for orders), or all for the day''s totals.';
comment on column bi_kpis_daily.csat_satisfied_share is 'CSAT: share (0..1) of CSAT answers scoring 4 or 5 of 5.';
comment on column bi_kpis_daily.csat_answers is 'Number of CSAT answers.';
comment on column bi_kpis_daily.nps_score is 'Net Promoter Score in points (-100..100).';
comment on column bi_kpis_daily.nps_answers is 'Number of NPS answers.';
comment on column bi_kpis_daily.customer_effort_score is 'Mean CES answer, 1 to 7; higher means more effort.';
comment on column bi_kpis_daily.ces_answers is 'Number of CES answers.';
comment on column bi_kpis_daily.tickets_opened is 'Service tickets opened.';
comment on column bi_kpis_daily.median_first_response_hours is 'Median hours to the first response of the tickets opened.';
comment on column bi_kpis_daily.median_resolution_hours is 'Median hours to resolution of the tickets opened (open tickets left out).';
comment on column bi_kpis_daily.web_sessions is 'Web sessions started.';
comment on column bi_kpis_daily.converted_web_sessions is 'Web sessions with a purchase.';
comment on column bi_kpis_daily.web_conversion_rate is 'Share (0..1) of web sessions with a purchase.';
comment on column bi_kpis_daily.orders is 'Non-refund orders placed.';
comment on column bi_kpis_daily.revenue is 'Net revenue (refunds subtracted), in currency.';
comment on column bi_kpis_daily.new_customers is 'Customers placing their first order.';
comment on column bi_kpis_daily.repeat_customers is 'Ordering customers who had ordered before.';
comment on column bi_kpis_daily.repeat_customer_share is 'Share (0..1) of ordering customers who are repeat customers.';
comment on column bi_kpis_daily.referral_session_share is 'Share (0..1) of web sessions that arrived by referral.';
comment on column bi_kpis_daily.currency is 'ISO 4217 code of revenue: the project setting currency.';
