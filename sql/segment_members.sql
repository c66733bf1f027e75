-- segment_members: which customers are in which marketing segment, per as_of.
--
-- grain: one row per scored customer and scoring moment (as_of, customer_key)
--
-- Built by cxdata.churn.step.churn_step from customer_scores and the ordered
-- rules of models.churn.segments; every scored customer is in exactly one
-- segment. A run replaces the rows of its as_of and keeps other days.

comment on table segment_members is 'Marketing segment membership: one row per scored customer and as_of, the segment being the first rule of models.churn.segments the customer matches. Primary key: (as_of, customer_key).';
comment on column segment_members.segment is 'Segment name (defaults: champions, loyal, promising_new, high_value_at_risk, needs_attention, hibernating, lost).';
comment on column segment_members.customer_key is 'Resolved customer (dim_customer.customer_key).';
comment on column segment_members.as_of is 'Moment the scores behind the segment were computed at, UTC.';
comment on column segment_members.run_id is 'The orchestrator run that assigned the segment.';
