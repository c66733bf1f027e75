-- bi_segments: marketing segments per scoring moment, sizes and value, for BI.
--
-- grain: one row per scoring moment (as_of) and segment
--
-- Created by cxdata.warehouse.views.create_views after segment_summary is
-- published. Aggregates only: which customers are in a segment is in
-- segment_members (marketing role) and bi_customer_overview. Segments hold
-- scored customers, who are buyers.
--
-- example: The current segmentation with its value at risk
--   select segment, customers, share_of_customers, total_lifetime_value, total_value_at_risk, currency
--   from bi_segments
--   where is_latest
--   order by segment_order
-- example: How each segment's size moved between scoring moments
--   select as_of, segment, customers
--   from bi_segments
--   order by segment_order, as_of

create or replace view bi_segments as
select
    g.as_of as as_of,
    g.as_of = (select max(latest.as_of) from segment_summary latest) as is_latest,
    g.segment as segment,
    g.rule_order as segment_order,
    g.customers as customers,
    cast(g.customers as double precision) / nullif(sum(g.customers) over (partition by g.as_of), 0)
        as share_of_customers,
    g.total_clv as total_lifetime_value,
    g.total_value_at_risk as total_value_at_risk,
    g.mean_churn_probability as average_churn_probability,
    cast(:currency as text) as currency
from segment_summary g;

comment on view bi_segments is 'Marketing segments per scoring moment: size, share of scored customers, total lifetime value and value at risk, average churn probability. Aggregates over segment_summary; no personal data. Filter is_latest for the current segmentation.';
comment on column bi_segments.as_of is 'Moment the scores behind the segments were computed at, UTC.';
comment on column bi_segments.is_latest is 'True for the rows of the latest as_of.';
comment on column bi_segments.segment is 'Segment name (defaults: champions, loyal, promising_new, high_value_at_risk, needs_attention, hibernating, lost).';
comment on column bi_segments.segment_order is 'Position of the segment''s rule: customers go to the first rule they match.';
comment on column bi_segments.customers is 'Customers in the segment.';
comment on column bi_segments.share_of_customers is 'Share (0..1) of the scored customers of that as_of in the segment.';
comment on column bi_segments.total_lifetime_value is 'Sum of the members'' lifetime values, in currency.';
comment on column bi_segments.total_value_at_risk is 'Sum of the members'' value at risk (lifetime value times churn probability), in currency.';
comment on column bi_segments.average_churn_probability is 'Mean churn probability of the members; null for an empty segment.';
comment on column bi_segments.currency is 'ISO 4217 code of total_lifetime_value and total_value_at_risk: the project setting currency.';
