-- validation_runs: one row per table checked by the data-quality suites, per run.
--
-- grain: one row per checked table and run
--
-- Appended by cxdata.validate.checks.check_table each time a staged table or
-- mart is validated (the Dagster asset checks error_checks / warning_checks).
-- The row-count change warning compares a table's rows with its latest row
-- here from an earlier run. The failing expectations themselves are in the
-- asset check metadata and the Great Expectations data docs (validation.docs_dir).

comment on table validation_runs is 'Data-quality check log: one row per checked table and run, with its row count and how many error and warning expectations failed. Append-only; the row-count change check compares with the latest earlier row of the same table.';
comment on column validation_runs.run_id is 'Run that checked the table (the Dagster run id, or the id given to check_table).';
comment on column validation_runs.table_name is 'Staged table or mart checked, e.g. stg_orders or dim_customer.';
comment on column validation_runs.rows is 'Rows in the table when it was checked.';
comment on column validation_runs.checked_at is 'When the run that made the check started, UTC (run_context.started_at): every check of one run has the same.';
comment on column validation_runs.errors_failed is 'Failed expectations of severity error (blocking: downstream assets did not run when above 0).';
comment on column validation_runs.warnings_failed is 'Failed expectations of severity warn (reported only), the row-count change included.';
comment on column validation_runs.scope is 'whole: every row of the table was checked; rows: only the rows the run rewrote (restated days of a staged table, rebuilt records of a fact), between whole checks at least every models.refit_every_days days. Distribution rules wait for the next whole check.';
comment on column validation_runs.rows_checked is 'Rows the row rules read: the table''s rows when whole, the rewritten rows otherwise.';
