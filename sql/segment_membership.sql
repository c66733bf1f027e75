-- segment_membership: each stay of a customer in a marketing segment, kept across runs.
--
-- grain: one row per segment, customer_key and entered_at (one spell in the segment)
--
-- Written by cxdata.activation.membership.update_membership (the segment_membership asset) from the
-- scorings in segment_members, replayed in as_of order; a rerun or backfilled scoring rewinds the history
-- to its as_of and replays from there, so the table is a function of the scorings alone.

comment on table segment_membership is 'Segment membership history: one row per stay (spell) of a customer in a segment, from the first scoring that put them there (entered_at) to the first that did not (exited_at, null while they are in it). Replayed from segment_members. Key: (segment, customer_key, entered_at).';
comment on column segment_membership.segment is 'Segment name (models.churn.segments).';
comment on column segment_membership.customer_key is 'Resolved customer (dim_customer.customer_key).';
comment on column segment_membership.entered_at is 'as_of of the first scoring of the spell that had the customer in the segment, UTC.';
comment on column segment_membership.entered_run_id is 'The orchestrator run whose scoring put the customer in the segment.';
comment on column segment_membership.clv_at_entry is 'The customer''s lifetime value at that scoring (customer_scores_history), in the project currency; null when the scoring had no CLV for them.';
comment on column segment_membership.currency is 'ISO 4217 code of clv_at_entry: the project setting currency.';
comment on column segment_membership.exited_at is 'as_of of the first later scoring without the customer in the segment (moved to another segment, or no longer scored), UTC; null while they are in it.';
comment on column segment_membership.exited_run_id is 'The orchestrator run whose scoring took the customer out; null while they are in it.';
