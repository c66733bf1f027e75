-- sync_runs: every sync of a segment to a named destination (activation.destinations).
--
-- grain: one row per destination and sync (seq)
--
-- Written by cxdata.activation.plan.plan_sync (status planned or unchanged) and replaced by destination and
-- seq by cxdata.activation.deliver when the sync is delivered or a delivery fails. No personal data: counts,
-- names and file names, never a customer, a contact or a webhook URL.

comment on table sync_runs is 'Every change-only sync of a segment to a destination: which scoring it brought the destination up to, how many members were added and removed, withheld by the holdout or left out without consent, and whether it was delivered. A planned sync is delivered first by the next sync. No personal data. Key: (destination, seq).';
comment on column sync_runs.destination is 'The destination''s name in activation.destinations.';
comment on column sync_runs.seq is 'The sync''s number for its destination: 1, 2, ... in the order they were planned.';
comment on column sync_runs.sync_id is 'A random id of the sync; a webhook batch''s Idempotency-Key is sync_id:batch.';
comment on column sync_runs.segment is 'The segment synced.';
comment on column sync_runs.as_of is 'The scoring the destination was brought up to (segment_members.as_of), UTC.';
comment on column sync_runs.previous_as_of is 'The scoring of the destination''s previous sync; null for its first.';
comment on column sync_runs.planned_at is 'When the sync was planned (the run''s start, or the command''s time), UTC.';
comment on column sync_runs.planned_by is 'The orchestrator run, or cxdata sync (with the OS user), that planned it.';
comment on column sync_runs.audience is 'Members the destination holds after the sync: the segment''s members with consent, less the holdout''s control group.';
comment on column sync_runs.adds is 'Members sent as added.';
comment on column sync_runs.removes is 'Members sent as removed: they left the segment or withdrew consent to the purpose.';
comment on column sync_runs.withheld is 'Members of the segment in the holdout''s control group, never synced.';
comment on column sync_runs.without_consent is 'Members of the segment without a yes for the destination''s purpose, left out.';
comment on column sync_runs.status is 'planned (changes recorded, not yet delivered), delivered, or unchanged (nothing to send).';
comment on column sync_runs.attempts is 'Deliveries tried (a kill during one is not counted).';
comment on column sync_runs.delivered_at is 'When it was delivered (or found unchanged), UTC; null while planned.';
comment on column sync_runs.delivered_to is 'The file written in the destination folder, or webhook (n batches).';
comment on column sync_runs.last_error is 'Why the last delivery failed (an HTTP status or the kind of system error; never a URL or a body); null after a success.';
