-- bi_segment_membership: every stay of a customer in a marketing segment, with its length and value, for BI.
--
-- grain: one row per segment, customer_key and entered_at (one spell in the segment)
--
-- Created by cxdata.warehouse.views.create_views after segment_membership, segment_scorings and
-- customer_scores are published. Over segment_membership (cxdata.activation.membership): a spell runs
-- from the scoring that put the customer in the segment to the first that did not; an open spell's
-- length runs to the latest scoring replayed. No personal data: the customer is its pseudonymous key.
--
-- example: How long customers stay in each segment, and their CLV on entering and now
--   select segment, count(*) as stays, avg(days_in_segment) as average_days,
--          avg(lifetime_value_at_entry) as average_clv_at_entry, avg(lifetime_value_now) as average_clv_now
--   from bi_segment_membership
--   group by segment
--   order by segment
-- example: Who entered high value at risk in the latest scoring, by CLV
--   select customer_key, entered_at, lifetime_value_at_entry, currency
--   from bi_segment_membership
--   where segment = 'high_value_at_risk' and is_current and days_in_segment = 0
--   order by lifetime_value_at_entry desc, customer_key
--   limit 20

create or replace view bi_segment_membership as
with spells as (
    select m.segment, m.customer_key, m.entered_at, m.exited_at, m.clv_at_entry
    from segment_membership m
),

latest as (
    select max(s.as_of) as as_of
    from segment_scorings s
),

scores as (
    select c.customer_key, c.clv
    from customer_scores c
)

select
    p.segment as segment,
    p.customer_key as customer_key,
    p.entered_at as entered_at,
    p.exited_at as exited_at,
    p.exited_at is null as is_current,
    cast(extract(epoch from (coalesce(p.exited_at, l.as_of) - p.entered_at)) as double precision) / 86400.0
        as days_in_segment,
    p.clv_at_entry as lifetime_value_at_entry,
    s.clv as lifetime_value_now,
    cast(:currency as text) as currency
from spells p
cross join latest l
left join scores s on s.customer_key = p.customer_key;

comment on view bi_segment_membership is 'Every stay (spell) of a customer in a marketing segment: when they entered and left, how many days they stayed (to the latest scoring while still in it), and their lifetime value on entering and now. Over segment_membership; no personal data. Filter is_current for who is in a segment now.';
comment on column bi_segment_membership.segment is 'Segment name (models.churn.segments).';
comment on column bi_segment_membership.customer_key is 'Resolved customer (dim_customer.customer_key).';
comment on column bi_segment_membership.entered_at is 'The scoring moment that put the customer in the segment, UTC.';
comment on column bi_segment_membership.exited_at is 'The first later scoring moment without them in it, UTC; null while they are in it.';
comment on column bi_segment_membership.is_current is 'True while the customer is in the segment (as of the latest scoring).';
comment on column bi_segment_membership.days_in_segment is 'Days from entered_at to exited_at, or to the latest scoring while the customer is in the segment.';
comment on column bi_segment_membership.lifetime_value_at_entry is 'The customer''s lifetime value at the scoring that put them in the segment, in currency.';
comment on column bi_segment_membership.lifetime_value_now is 'The customer''s lifetime value at the latest scoring (customer_scores), in currency; null when they are no longer scored.';
comment on column bi_segment_membership.currency is 'ISO 4217 code of the lifetime values: the project setting currency.';
