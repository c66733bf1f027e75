-- cx_kpis_daily: customer-experience KPIs by UTC day and channel.
--
-- Built by cxdata.marts.cx_kpis_daily from fct_orders, fct_tickets, fct_surveys
-- and fct_web_sessions. The channel of each metric is that of its own records:
--   survey metrics   the service channel of the ticket the survey followed, 'none' without one;
--   ticket metrics   the ticket channel;
--   web metrics      the session channel (utm_medium, else 'referral', else 'direct');
--   order metrics    the order channel, 'unknown' without one.
-- Each day also has a channel = 'all' row over every record of the day. A metric
-- is null where its source has no record on that day and channel, or no source.

comment on table cx_kpis_daily is 'Daily CX KPIs by channel: CSAT, NPS, CES, first-response and resolution times, sessions and conversion, orders, revenue, new and repeat customers, referral share. One row per UTC day and channel, plus channel all per day. Key: (date, channel).';
comment on column cx_kpis_daily.date is 'UTC calendar day of the records (responded, opened, session start, order).';
comment on column cx_kpis_daily.channel is 'Channel of the metric''s records (see the file header: ticket channel for service and surveys, session channel for web, order channel for orders) or all for the day total.';
comment on column cx_kpis_daily.csat_responses is 'Number of CSAT answers.';
comment on column cx_kpis_daily.csat is 'CSAT: share (0..1) of CSAT answers scoring 4 or 5 of 5.';
comment on column cx_kpis_daily.nps_responses is 'Number of NPS answers.';
comment on column cx_kpis_daily.nps is 'NPS in points (-100..100): percent promoters (9-10) minus percent detractors (0-6) of NPS answers.';
comment on column cx_kpis_daily.ces_responses is 'Number of CES answers.';
comment on column cx_kpis_daily.ces_mean is 'Mean CES answer (1..7; higher means more effort).';
comment on column cx_kpis_daily.tickets_opened is 'Tickets opened.';
comment on column cx_kpis_daily.median_first_response_hours is 'Median hours to first response of the tickets opened (tickets without a response left out).';
comment on column cx_kpis_daily.median_resolution_hours is 'Median hours to resolution of the tickets opened (open tickets left out).';
comment on column cx_kpis_daily.sessions is 'Web sessions started.';
comment on column cx_kpis_daily.converted_sessions is 'Web sessions with a purchase event.';
comment on column cx_kpis_daily.conversion_rate is 'Share (0..1) of sessions with a purchase: converted_sessions / sessions.';
comment on column cx_kpis_daily.orders is 'Non-refund orders placed.';
comment on column cx_kpis_daily.revenue is 'Sum of fct_orders.net_amount (refunds subtract), order currency.';
comment on column cx_kpis_daily.new_customers is 'Distinct customers placing their first non-refund order.';
comment on column cx_kpis_daily.repeat_customers is 'Distinct customers placing a non-refund order who ordered before (and are not new that day).';
comment on column cx_kpis_daily.repeat_rate is 'Share (0..1) of ordering customers who are repeat: repeat_customers / (new_customers + repeat_customers).';
comment on column cx_kpis_daily.referral_share is 'Share (0..1) of sessions that arrived by referral (a referrer, no UTM medium).';
