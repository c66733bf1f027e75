-- bi_people: every resolved person for BI, buyers, known contacts and anonymous visitors, with their kind.
--
-- grain: one row per resolved customer_key (dim_customer row), of any kind
--
-- Created by cxdata.warehouse.views.create_views after dim_customer is
-- published. Identity resolution gives a key to every person a record points
-- to, so there are more people than customers: customer_kind says which is
-- which (dim_customer.kind; rules in the header of sql/dim_customer.sql):
--   buyer              at least one non-refund order by as_of;
--   known_contact      no order, but a CRM record, an email, phone or
--                      customer_ref of their own, or a service ticket or survey;
--   anonymous_visitor  only web sessions or marketing touches, no identifier.
-- Customer counts mean buyers (bi_customer_overview); this view is for the
-- funnel around them. No personal data.
--
-- example: People by kind
--   select customer_kind, count(*) as people
--   from bi_people
--   group by customer_kind
--   order by customer_kind
-- example: Known contacts and anonymous visitors by acquisition channel (who has not bought yet)
--   select acquisition_channel, customer_kind, count(*) as people
--   from bi_people
--   where customer_kind <> 'buyer'
--   group by acquisition_channel, customer_kind
--   order by people desc, acquisition_channel, customer_kind

create or replace view bi_people as
select
    d.customer_key as customer_key,
    d.kind as customer_kind,
    d.journey_stage as journey_stage,
    d.acquisition_channel as acquisition_channel,
    d.referral_source as acquisition_source,
    d.first_seen_at as first_seen_at,
    d.last_seen_at as last_seen_at,
    d.orders_count as orders,
    d.tickets_count as service_tickets,
    d.sessions_count as web_sessions,
    d.touches_total as marketing_touches,
    d.last_touch_channel as last_touch_channel,
    d.as_of as as_of
from dim_customer d;

comment on view bi_people is 'Every resolved person (dim_customer): buyers, known contacts and anonymous visitors, told apart by customer_kind, with journey stage, acquisition channel and activity counts. One row per customer_key. Customer counts mean buyers: use bi_customer_overview, or filter customer_kind = ''buyer''. No personal data.';
comment on column bi_people.customer_key is 'Pseudonymous resolved person id (dim_customer.customer_key); joins every other mart.';
comment on column bi_people.customer_kind is 'buyer (a non-refund order by as_of), known_contact (no order, but a CRM record, an email, phone or customer_ref of their own, or a ticket or survey) or anonymous_visitor (only web sessions or touches without an identifier); dim_customer.kind.';
comment on column bi_people.journey_stage is 'Journey stage: research, compare, purchase, use_repurchase or lapsed (dim_customer.journey_stage).';
comment on column bi_people.acquisition_channel is 'How the person first arrived: the channel of their earliest web session, marketing touch or order; unknown when none is known.';
comment on column bi_people.acquisition_source is 'utm_source of the first web session, else the referrer host, else direct; null without web sessions (dim_customer.referral_source).';
comment on column bi_people.first_seen_at is 'First activity of any kind, UTC; null when only a CRM record exists.';
comment on column bi_people.last_seen_at is 'Latest activity of any kind up to as_of, UTC.';
comment on column bi_people.orders is 'Non-refund orders up to as_of; 0 for everyone but buyers.';
comment on column bi_people.service_tickets is 'Service tickets opened up to as_of.';
comment on column bi_people.web_sessions is 'Web sessions started up to as_of.';
comment on column bi_people.marketing_touches is 'Marketing touches (sent, open, click, impression) up to as_of.';
comment on column bi_people.last_touch_channel is 'Channel of the latest marketing touch.';
comment on column bi_people.as_of is 'Moment the figures describe, UTC.';
