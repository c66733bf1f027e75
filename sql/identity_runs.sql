-- identity_runs: the log of identity runs, one row per run, for the steps that follow identity's changes.
--
-- grain: one row per run_id
--
-- Appended by the identity step (cxdata.identity.step) in the transaction that
-- publishes identity_touched. A step that rebuilds only the customers identity
-- touched (the fact marts) trusts identity_touched only when the last run here
-- changed the state it read last time (after_run_id).

comment on table identity_runs is 'One row per identity run: full or incremental, the run whose state it changed, and how many customers it touched.';
comment on column identity_runs.run_id is 'The identity run.';
comment on column identity_runs.after_run_id is 'The identity run logged before this one, whose state this run changed; the run itself when its step ran again; null for the first.';
comment on column identity_runs.sequence is 'Position in the log: 1 for the first identity run, one more for each after it.';
comment on column identity_runs.mode is 'full: every customer was resolved again; incremental: only the components the changed records touch.';
comment on column identity_runs.touched_customers is 'Customers listed in identity_touched by this run.';
comment on column identity_runs.finished_at is 'Start of the run that resolved (the run''s now), UTC.';
