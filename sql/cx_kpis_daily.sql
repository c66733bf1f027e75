-- cx_kpis_daily: customer-experience KPIs by UTC day and a named customer dimension.
--
-- grain: one row per UTC day, dimension and dimension_value
--
-- Built by cxdata.marts.cx_kpis_daily from fct_orders, fct_tickets, fct_surveys,
-- fct_web_sessions and dim_customer. Every metric of a row is defined for the
-- row's dimension, so the metrics of one row compare with each other:
--   total                dimension_value all: every record of the day;
--   acquisition_channel  the record's customer's dim_customer.acquisition_channel;
--   customer_kind        the record's customer's dim_customer.kind (buyer,
--                        known_contact, anonymous_visitor).
-- Under a customer dimension every record counts under its customer's value (a
-- record without a customer under unknown), so the counts and revenue of a
-- dimension's values add up to its total row. The channel of a record itself
-- (order channel, ticket channel, session channel) is not a customer attribute:
-- those breakdowns are the views bi_orders_by_channel_daily,
-- bi_tickets_by_channel_daily, bi_surveys_by_channel_daily and
-- bi_web_by_channel_daily.
--
-- Null means no data, 0 means zero. The rows are a dense grid: every day from
-- the first to the last day with a record of any loaded source, times every
-- value of each dimension. For a loaded source, counts (and revenue) are 0 on a
-- row without a record of it; rates, means and medians are null without a
-- denominator (csat without CSAT answers, conversion_rate without sessions). A
-- source the project does not configure is null in every one of its metrics.

comment on table cx_kpis_daily is 'Daily CX KPIs by a named customer dimension (total, acquisition_channel, customer_kind): CSAT, NPS, CES, first-response and resolution times, sessions and conversion, referral share, orders, revenue, new and repeat customers. One row per UTC day, dimension and dimension_value; key (date, dimension, dimension_value). Every day from the project''s first to last day has a row for every value of every dimension. Counts are 0 and rates null where a loaded source has no record; every metric of a source the project lacks is null (rules in the header of sql/cx_kpis_daily.sql).';
comment on column cx_kpis_daily.date is 'UTC calendar day of the records (survey answered, ticket opened, session started, order placed).';
comment on column cx_kpis_daily.dimension is 'Dimension the row breaks the day down by: total (one row, value all), acquisition_channel or customer_kind. Filter on one dimension: the values of a dimension add up to its total row.';
comment on column cx_kpis_daily.dimension_value is 'Value of the dimension: all for total; the customer''s acquisition channel (dim_customer.acquisition_channel) or kind (dim_customer.kind: buyer, known_contact, anonymous_visitor); unknown for records without a customer.';
comment on column cx_kpis_daily.csat_responses is 'Number of CSAT answers; 0 without any, null when the project has no surveys.';
comment on column cx_kpis_daily.csat is 'CSAT: share (0..1) of CSAT answers scoring 4 or 5 of 5; null without CSAT answers.';
comment on column cx_kpis_daily.nps_responses is 'Number of NPS answers; 0 without any, null when the project has no surveys.';
comment on column cx_kpis_daily.nps is 'NPS in points (-100..100): percent promoters (9-10) minus percent detractors (0-6) of NPS answers; null without NPS answers. Over several rows: sum(nps * nps_responses) / sum(nps_responses).';
comment on column cx_kpis_daily.ces_responses is 'Number of CES answers; 0 without any, null when the project has no surveys.';
comment on column cx_kpis_daily.ces_mean is 'Mean CES answer (1..7; higher means more effort); null without CES answers.';
comment on column cx_kpis_daily.tickets_opened is 'Tickets opened; 0 without any, null when the project has no tickets.';
comment on column cx_kpis_daily.median_first_response_hours is 'Median hours to first response of the tickets opened (tickets without a response left out); null without one.';
comment on column cx_kpis_daily.median_resolution_hours is 'Median hours to resolution of the tickets opened (open tickets left out); null without one.';
comment on column cx_kpis_daily.sessions is 'Web sessions started; 0 without any, null when the project has no web events.';
comment on column cx_kpis_daily.converted_sessions is 'Web sessions with a purchase event; 0 without any, null when the project has no web events.';
comment on column cx_kpis_daily.conversion_rate is 'Share (0..1) of sessions with a purchase: converted_sessions / sessions; null without sessions.';
comment on column cx_kpis_daily.referral_share is 'Share (0..1) of sessions that arrived by referral (a referrer, no UTM medium); null without sessions.';
comment on column cx_kpis_daily.orders is 'Non-refund orders placed; 0 without any, null when the project has no orders.';
comment on column cx_kpis_daily.revenue is 'Sum of fct_orders.net_amount (refunds subtract) in currency; 0 without orders, null when the project has no orders.';
comment on column cx_kpis_daily.currency is 'ISO 4217 code of revenue: the project setting currency (amounts are not converted).';
comment on column cx_kpis_daily.new_customers is 'Distinct customers placing their first non-refund order; 0 without any, null when the project has no orders.';
comment on column cx_kpis_daily.repeat_customers is 'Distinct customers placing a non-refund order who ordered before (and are not new that day); 0 without any, null when the project has no orders.';
comment on column cx_kpis_daily.repeat_rate is 'Share (0..1) of ordering customers who are repeat: repeat_customers / (new_customers + repeat_customers); null without ordering customers.';
