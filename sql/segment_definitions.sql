-- segment_definitions: what each marketing segment of the latest scoring means, beside its size.
--
-- grain: one row per segment rule (models.churn.segments) of the latest scoring moment
--
-- Created by cxdata.warehouse.views.create_views after segment_summary is
-- published. One row per rule of models.churn.segments as the latest scoring
-- applied it: a relative bound (min_percentile / max_percentile) shows the
-- value it resolved to on that run (cxdata/churn/segments.py). Aggregates and
-- definitions only: which customers are in a segment is in segment_members.
--
-- example: What each segment means and how big it is, in rule order
--   select segment, rule, suggested_action, customers, share_of_customers
--   from segment_definitions
--   order by segment_order

create or replace view segment_definitions as
with summary as (
    select t.as_of, t.rule_order, t.segment, t.rule, t.thresholds_json, t.suggested_action, t.customers
    from segment_summary t
),

latest as (
    select s.as_of, s.rule_order, s.segment, s.rule, s.thresholds_json, s.suggested_action, s.customers
    from summary s
    where s.as_of = (select max(l.as_of) from summary l)
)

select
    g.rule_order as segment_order,
    g.segment as segment,
    g.rule as rule,
    g.thresholds_json as thresholds_json,
    g.suggested_action as suggested_action,
    g.customers as customers,
    cast(g.customers as double precision) / nullif(sum(g.customers) over (), 0) as share_of_customers,
    g.as_of as as_of
from latest g;

comment on view segment_definitions is 'The marketing segments of the latest scoring, one row per rule of models.churn.segments: the rule in words with the values relative bounds resolved to on that run, the thresholds as JSON, the suggested action, members and share. Over segment_summary; no personal data. Order by segment_order: customers go to the first rule they match.';
comment on column segment_definitions.segment_order is 'Position 1..n of the segment''s rule: customers go to the first rule they match.';
comment on column segment_definitions.segment is 'Segment name (defaults: champions, loyal, promising_new, high_value_at_risk, needs_attention, hibernating, lost).';
comment on column segment_definitions.rule is 'The rule in words as that scoring applied it: a relative bound with the value it resolved to, e.g. value at risk in the top 20% (value_at_risk ≥ 82.88) and churn_probability ≤ 0.6; the last rule takes everyone not in an earlier segment. Null for a summary published before rules were recorded.';
comment on column segment_definitions.thresholds_json is 'The rule''s thresholds as JSON, per column: the configured min_percentile / max_percentile and the min / max values applied on that scoring, e.g. {"value_at_risk": {"min_percentile": 80, "min": 82.88}}; {} for the last rule; a percentile side no value reached has a null value and matches nobody.';
comment on column segment_definitions.suggested_action is 'What marketing is suggested to do with the segment, for the default segment names; null for a project''s own names.';
comment on column segment_definitions.customers is 'Members of the segment at that scoring.';
comment on column segment_definitions.share_of_customers is 'Share (0..1) of that scoring''s scored customers in the segment.';
comment on column segment_definitions.as_of is 'Moment of the latest scoring, UTC: the segments were assigned on the scores as of then.';
