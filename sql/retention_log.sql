-- retention_log: the raw rows purged for retention, appended by every run that purged some.
--
-- grain: one row per run and table purged from (stg_<source>, quarantine_<source>)
--
-- Written by cxdata.privacy.retention.purge_expired in the transaction that
-- deletes the rows. It holds no personal data. Only the documentation lives here.

comment on table retention_log is 'Raw source rows purged because their day lies before their table''s retention (privacy.retain_days, counted back from the run''s day in the project zone): per run and table, the first day kept and how many days and rows were deleted. Identity and the fact marts drop the purged records on the same run. No personal data.';
comment on column retention_log.run_id is 'The run that purged.';
comment on column retention_log.purged_at is 'When the run started, UTC.';
comment on column retention_log.source_table is 'The event source whose days expired: orders, tickets, surveys, web_events or touches.';
comment on column retention_log.table_name is 'The table rows were deleted from: stg_<source> or quarantine_<source>.';
comment on column retention_log.expired_before is 'The first day kept: days before it (in the project zone) were purged.';
comment on column retention_log.days is 'Staged days purged.';
comment on column retention_log.rows_purged is 'Rows deleted from table_name.';
