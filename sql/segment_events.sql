-- segment_events: every entry into and exit from a marketing segment.
--
-- grain: one row per segment, customer_key and scoring (as_of) at which the customer entered or left it
--
-- Written by cxdata.activation.membership.update_membership with segment_membership, in one
-- transaction: the events of a scoring are replaced when that scoring is replayed again.

comment on table segment_events is 'Entries into and exits from marketing segments: one row per customer, segment and scoring at which they entered or left it (a move between segments is an exit and an entry at the same as_of). Key: (segment, customer_key, as_of).';
comment on column segment_events.segment is 'Segment name (models.churn.segments).';
comment on column segment_events.customer_key is 'Resolved customer (dim_customer.customer_key).';
comment on column segment_events.event is 'entered or exited.';
comment on column segment_events.as_of is 'The scoring moment at which it happened, UTC (segment_members.as_of).';
comment on column segment_events.run_id is 'The orchestrator run of that scoring.';
