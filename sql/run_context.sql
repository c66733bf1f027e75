-- run_context: the one moment each run describes, one row per run.
--
-- grain: one row per run (run_id)
--
-- Written by cxdata.run_context.run_context when the first step of a run that
-- needs as_of resolves it (identity, in a whole-graph run); every later step of
-- the run reads it back, so every table the run writes that has an as_of column
-- holds this as_of, and every moment it records (load_audit.loaded_at,
-- validation_runs.checked_at, model_runs.trained_at, cx_alerts.created_at, the
-- report's date) is started_at. Two steps resolving at once store the same
-- values; the row is replaced by run_id.

comment on table run_context is 'The moment each run describes: its as_of, where that came from, and when the run started. One row per run. Primary key: run_id.';
comment on column run_context.run_id is 'The orchestrator run (Dagster run id) this context belongs to.';
comment on column run_context.as_of is 'The moment the run describes, UTC: the end of the config''s as_of day (or the command line''s --as-of) in the project''s zone, else the end of the last day, in the project''s zone, on which any staged order, ticket, survey, web event or touch happened. Every table the run writes with an as_of column holds this value.';
comment on column run_context.started_at is 'When the run started, UTC (the Dagster run record''s start): the time every step of the run records.';
comment on column run_context.as_of_from is 'Where as_of came from: config (the as_of day of the config or the command line) or events (the last staged event day).';
