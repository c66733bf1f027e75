-- stg_partitions: the staged days of each event table and the version of the files each was staged from.
--
-- grain: one row per (source_table, partition_day)
--
-- Written by cxdata.io.step.stage_step with the staged rows, in the same
-- transaction: replaced per table by a whole load, per day by a load of some
-- days. A day whose files' version (stg_files) differs from the one here is
-- stale: a run restates it when it is new or within incremental.lookback_days,
-- else counts its rows as late (load_audit.rows_late) until a backfill.

comment on table stg_partitions is 'The days of each event table staged so far, and the version of the files each was staged from; a day whose files have changed since is stale and is restated by the next run (or, before the lookback, by a backfill).';
comment on column stg_partitions.source_table is 'The canonical input table: orders, tickets, surveys, web_events or touches.';
comment on column stg_partitions.partition_day is 'The staged day, in the project''s timezone.';
comment on column stg_partitions.files_version is 'Every file holding rows of the day when it was staged, as file|size|md5, sorted and joined by semicolons.';
comment on column stg_partitions.rows is 'The rows the day''s files held when it was staged (accepted and quarantined).';
comment on column stg_partitions.run_id is 'Id of the run that staged the day.';
comment on column stg_partitions.loaded_at is 'When that run started, UTC (load_audit.loaded_at).';
