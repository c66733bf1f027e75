-- load_audit: one row per load of an input table, appended on every run (never replaced).
--
-- grain: one row per load of an input table (per run and table)
--
-- Written by cxdata.io.step.stage_step after stg_<table> and quarantine_<table>
-- are published, and before a load over its quarantine limit stops the run, so
-- a failed load is counted too. Only the documentation lives here.

comment on table load_audit is 'Every load of an input table: rows read, accepted into stg_<table> and quarantined into quarantine_<table>, by rule, and whether the quarantined share was within the limit. Appended on every run; rows_in = rows_accepted + rows_quarantined + rows_suppressed + rows_expired on every row.';
comment on column load_audit.run_id is 'Id of the run (Dagster run id) that made the load.';
comment on column load_audit.table_name is 'The canonical input table loaded: customers, orders, tickets, surveys, web_events, touches or touchpoint_costs.';
comment on column load_audit.source is 'The configured source: its path, or the label of its SQL query (never a password).';
comment on column load_audit.rows_in is 'Records read from the source, blank lines not counted.';
comment on column load_audit.blank_lines is 'Lines of a CSV source without any value (empty or only blanks): skipped, not records, not quarantined.';
comment on column load_audit.rows_suppressed is 'Rows dropped before staging because they carry an identifier of a person erased by cxdata forget (suppressed_identifiers): neither accepted nor quarantined. 0 when none.';
comment on column load_audit.rows_expired is 'Rows dropped before staging because their day lies before the table''s retention (privacy.retain_days, counted back from the run''s day): neither accepted nor quarantined. 0 when none or no retention.';
comment on column load_audit.rows_accepted is 'Rows that passed every row rule and were published in stg_<table>.';
comment on column load_audit.rows_quarantined is 'Rows that failed a row rule and were published in quarantine_<table>.';
comment on column load_audit.quarantined_by_rule is 'JSON object: quarantined rows counted by their first failing rule (the counts add up to rows_quarantined).';
comment on column load_audit.threshold is 'The largest quarantined share allowed for this table (validation.max_quarantine_share or validation.table_max_quarantine_share).';
comment on column load_audit.passed is 'True when rows_quarantined / rows_in was within threshold; false when the load stopped the run.';
comment on column load_audit.loaded_at is 'When the run that made the load started, UTC (run_context.started_at; the _loaded_at of its rows, and the moment future-dated rows are measured from).';
comment on column load_audit.first_day is 'For a load of some days of an event table: the first day (project timezone) it restated; null for a load of the whole table.';
comment on column load_audit.last_day is 'For a load of some days of an event table: the last day it restated; null for a load of the whole table.';
comment on column load_audit.days_restated is 'How many days of an event table the load restated (the days asked for plus any a repeated key tied to them); null for a load of the whole table.';
comment on column load_audit.rows_late is 'Rows of the source on days whose files changed but that this load left as they were (older than the lookback): they wait for a backfill of those days. 0 when none.';
