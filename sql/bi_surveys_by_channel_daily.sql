-- bi_surveys_by_channel_daily: CSAT, NPS and CES by UTC day and the channel of the ticket the survey followed.
--
-- grain: one row per UTC day and service_channel
--
-- Created by cxdata.warehouse.views.create_views after fct_surveys and
-- cx_kpis_daily are published. Only survey metrics, by fct_surveys.channel: the
-- channel of the ticket the answer followed, none for an answer not tied to a
-- ticket. Dense like cx_kpis_daily: every day of cx_kpis_daily times every
-- channel, answer counts 0 on a day without an answer and the scores null.
-- Aggregates only, no personal data.
--
-- example: NPS by month and service channel (from the answer counts, exact over any period)
--   select cast(date_trunc('month', day) as date) as month, service_channel, sum(nps_answers) as nps_answers,
--          100 * (sum(nps_promoters) - sum(nps_detractors)) / cast(nullif(sum(nps_answers), 0) as double precision)
--              as nps_score
--   from bi_surveys_by_channel_daily
--   group by 1, 2
--   order by 1, 2
-- example: CSAT after each service channel over the whole history
--   select service_channel, sum(csat_answers) as csat_answers,
--          sum(csat_satisfied) / cast(nullif(sum(csat_answers), 0) as double precision) as csat_satisfied_share
--   from bi_surveys_by_channel_daily
--   group by service_channel
--   order by service_channel

create or replace view bi_surveys_by_channel_daily as
with
days as (
    select k.date as day from cx_kpis_daily k where k.dimension = 'total'
),
surveys as (
    select
        s.responded_date as day,
        coalesce(s.channel, 'none') as service_channel,
        s.kind as kind,
        s.score as score,
        s.is_satisfied as is_satisfied,
        s.nps_class as nps_class
    from fct_surveys s
),
channels as (
    select distinct service_channel from surveys
),
daily as (
    select
        day,
        service_channel,
        count(case when kind = 'csat' then 1 end) as csat_answers,
        count(case when kind = 'csat' and is_satisfied then 1 end) as csat_satisfied,
        count(case when kind = 'nps' then 1 end) as nps_answers,
        count(case when nps_class = 'promoter' then 1 end) as nps_promoters,
        count(case when nps_class = 'detractor' then 1 end) as nps_detractors,
        count(case when kind = 'ces' then 1 end) as ces_answers,
        avg(case when kind = 'ces' then score end) as customer_effort_score
    from surveys
    group by day, service_channel
)
select
    d.day as day,
    c.service_channel as service_channel,
    coalesce(x.csat_answers, 0) as csat_answers,
    coalesce(x.csat_satisfied, 0) as csat_satisfied,
    cast(x.csat_satisfied as double precision) / nullif(x.csat_answers, 0) as csat_satisfied_share,
    coalesce(x.nps_answers, 0) as nps_answers,
    coalesce(x.nps_promoters, 0) as nps_promoters,
    coalesce(x.nps_detractors, 0) as nps_detractors,
    cast(100 * (x.nps_promoters - x.nps_detractors) as double precision) / nullif(x.nps_answers, 0) as nps_score,
    coalesce(x.ces_answers, 0) as ces_answers,
    x.customer_effort_score as customer_effort_score
from days d
cross join channels c
left join daily x on x.day = d.day and x.service_channel = c.service_channel;

comment on view bi_surveys_by_channel_daily is 'Survey answers (CSAT, NPS, CES) by UTC day and the channel of the ticket each answer followed (fct_surveys.channel; none without a ticket). One row per day of cx_kpis_daily and channel: answer counts 0 and scores null on a day without an answer. Aggregates over fct_surveys; no personal data.';
comment on column bi_surveys_by_channel_daily.day is 'UTC calendar day the answers were given.';
comment on column bi_surveys_by_channel_daily.service_channel is 'Channel of the ticket the answer followed (fct_surveys.channel), none for an answer not tied to a ticket.';
comment on column bi_surveys_by_channel_daily.csat_answers is 'Number of CSAT answers; 0 without any.';
comment on column bi_surveys_by_channel_daily.csat_satisfied is 'CSAT answers scoring 4 or 5 of 5; 0 without any.';
comment on column bi_surveys_by_channel_daily.csat_satisfied_share is 'CSAT: csat_satisfied / csat_answers (0..1); null without CSAT answers.';
comment on column bi_surveys_by_channel_daily.nps_answers is 'Number of NPS answers; 0 without any.';
comment on column bi_surveys_by_channel_daily.nps_promoters is 'NPS answers of 9 or 10; 0 without any.';
comment on column bi_surveys_by_channel_daily.nps_detractors is 'NPS answers of 0 to 6; 0 without any.';
comment on column bi_surveys_by_channel_daily.nps_score is 'Net Promoter Score in points (-100..100): 100 * (nps_promoters - nps_detractors) / nps_answers; null without NPS answers.';
comment on column bi_surveys_by_channel_daily.ces_answers is 'Number of CES answers; 0 without any.';
comment on column bi_surveys_by_channel_daily.customer_effort_score is 'Mean CES answer, 1 to 7 (higher means more effort); null without CES answers.';
