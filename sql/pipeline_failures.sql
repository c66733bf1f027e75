-- pipeline_failures: every failed orchestrator run, appended by the run-failure sensor.
--
-- grain: one row per failed orchestrator run (run_id)
--
-- Written by cxdata.alerts.failures.record_failure from pipelines/automation.py.
-- Step error messages are not stored (they may quote source values); the Dagster
-- event log of the run has them. Timestamps are UTC.

comment on table pipeline_failures is 'Failed orchestrator runs: job, time, failed steps and error classes, one row per run. Primary key: run_id.';
comment on column pipeline_failures.run_id is 'The failed Dagster run; open it in the UI for the full event log.';
comment on column pipeline_failures.job_name is 'The job the run executed (the daily schedule, the file-arrival sensor and the UI use the same asset jobs).';
comment on column pipeline_failures.failed_at is 'When the run failure was recorded, UTC.';
comment on column pipeline_failures.failed_steps is 'Steps (assets) that failed, comma-separated; empty when the run failed before any step.';
comment on column pipeline_failures.error_types is 'Exception classes of the failed steps (e.g. WarehouseError, QuarantineError), comma-separated.';
comment on column pipeline_failures.message is 'Dagster''s run failure message (names the failed steps, not data values), at most 500 characters.';
