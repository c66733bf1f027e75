-- bi_web_by_channel_daily: web sessions and conversion by UTC day and the session's own channel, for BI.
--
-- grain: one row per UTC day and session_channel
--
-- Created by cxdata.warehouse.views.create_views after fct_web_sessions and
-- cx_kpis_daily are published. Only web metrics, by the session channel
-- (fct_web_sessions.channel: the UTM medium, else referral with a referrer, else
-- direct). Dense like cx_kpis_daily: every day of cx_kpis_daily times every
-- session channel, counts 0 on a day without a session of the channel and the
-- conversion rate null. Aggregates only, no personal data (no cookie id or URL).
--
-- example: Sessions and conversion by month and session channel
--   select cast(date_trunc('month', day) as date) as month, session_channel, sum(web_sessions) as web_sessions,
--          sum(converted_web_sessions) / cast(nullif(sum(web_sessions), 0) as double precision)
--              as web_conversion_rate
--   from bi_web_by_channel_daily
--   group by 1, 2
--   order by 1, 2
-- example: Busiest day of each session channel
--   select session_channel, max(web_sessions) as most_sessions_in_a_day
--   from bi_web_by_channel_daily
--   group by session_channel
--   order by session_channel

create or replace view bi_web_by_channel_daily as
with
days as (
    select k.date as day from cx_kpis_daily k where k.dimension = 'total'
),
sessions as (
    select
        w.session_date as day,
        coalesce(w.channel, 'direct') as session_channel,
        w.converted as converted
    from fct_web_sessions w
),
channels as (
    select distinct session_channel from sessions
),
daily as (
    select
        day,
        session_channel,
        count(*) as web_sessions,
        count(case when converted then 1 end) as converted_web_sessions
    from sessions
    group by day, session_channel
)
select
    d.day as day,
    c.session_channel as session_channel,
    coalesce(x.web_sessions, 0) as web_sessions,
    coalesce(x.converted_web_sessions, 0) as converted_web_sessions,
    cast(x.converted_web_sessions as double precision) / nullif(x.web_sessions, 0) as web_conversion_rate
from days d
cross join channels c
left join daily x on x.day = d.day and x.session_channel = c.session_channel;

comment on view bi_web_by_channel_daily is 'Web sessions, converted sessions and conversion rate by UTC day and session channel (fct_web_sessions.channel). One row per day of cx_kpis_daily and channel: counts 0 and the rate null on a day without a session of the channel. Aggregates over fct_web_sessions; no personal data.';
comment on column bi_web_by_channel_daily.day is 'UTC calendar day the sessions started.';
comment on column bi_web_by_channel_daily.session_channel is 'Channel of the session: its UTM medium (lower-case), else referral with a referrer, else direct (fct_web_sessions.channel).';
comment on column bi_web_by_channel_daily.web_sessions is 'Web sessions started; 0 without any.';
comment on column bi_web_by_channel_daily.converted_web_sessions is 'Web sessions with a purchase event; 0 without any.';
comment on column bi_web_by_channel_daily.web_conversion_rate is 'converted_web_sessions / web_sessions (0..1); null without sessions.';
