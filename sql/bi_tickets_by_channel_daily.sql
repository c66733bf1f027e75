-- bi_tickets_by_channel_daily: service tickets and response times by UTC day and ticket channel, for BI.
--
-- grain: one row per UTC day and service_channel
--
-- Created by cxdata.warehouse.views.create_views after fct_tickets and
-- cx_kpis_daily are published. Only ticket metrics, by the ticket's own channel
-- (fct_tickets.channel). Dense like cx_kpis_daily: every day of cx_kpis_daily
-- times every ticket channel, tickets_opened 0 on a day without a ticket of the
-- channel and the medians null. Aggregates only, no personal data.
--
-- example: Tickets and median first response by month and channel
--   select cast(date_trunc('month', day) as date) as month, service_channel, sum(tickets_opened) as tickets,
--          avg(median_first_response_hours) as mean_of_daily_median_first_response_hours
--   from bi_tickets_by_channel_daily
--   group by 1, 2
--   order by 1, 2
-- example: Days on which a channel opened no ticket
--   select service_channel, count(*) as days_without_tickets
--   from bi_tickets_by_channel_daily
--   where tickets_opened = 0
--   group by service_channel
--   order by service_channel

create or replace view bi_tickets_by_channel_daily as
with
days as (
    select k.date as day from cx_kpis_daily k where k.dimension = 'total'
),
tickets as (
    select
        t.opened_date as day,
        coalesce(t.channel, 'unknown') as service_channel,
        t.first_response_hours as first_response_hours,
        t.resolution_hours as resolution_hours
    from fct_tickets t
),
channels as (
    select distinct service_channel from tickets
),
daily as (
    select
        day,
        service_channel,
        count(*) as tickets_opened,
        percentile_cont(0.5) within group (order by first_response_hours) as median_first_response_hours,
        percentile_cont(0.5) within group (order by resolution_hours) as median_resolution_hours
    from tickets
    group by day, service_channel
)
select
    d.day as day,
    c.service_channel as service_channel,
    coalesce(x.tickets_opened, 0) as tickets_opened,
    x.median_first_response_hours as median_first_response_hours,
    x.median_resolution_hours as median_resolution_hours
from days d
cross join channels c
left join daily x on x.day = d.day and x.service_channel = c.service_channel;

comment on view bi_tickets_by_channel_daily is 'Service tickets opened and their median first-response and resolution hours by UTC day and ticket channel (fct_tickets.channel). One row per day of cx_kpis_daily and channel: tickets_opened 0 and medians null on a day without a ticket of the channel. Aggregates over fct_tickets; no personal data.';
comment on column bi_tickets_by_channel_daily.day is 'UTC calendar day the tickets were opened.';
comment on column bi_tickets_by_channel_daily.service_channel is 'Channel of the ticket (phone, chat, email ...; fct_tickets.channel).';
comment on column bi_tickets_by_channel_daily.tickets_opened is 'Tickets opened; 0 without any.';
comment on column bi_tickets_by_channel_daily.median_first_response_hours is 'Median hours to first response of the tickets opened (unanswered ones left out); null without an answered ticket.';
comment on column bi_tickets_by_channel_daily.median_resolution_hours is 'Median hours to resolution of the tickets opened (open ones left out); null without a resolved ticket.';
