-- stg_files: what each file of an event source holds, day by day (the staging manifest).
--
-- grain: one row per (source_table, file, partition_day)
--
-- Written by cxdata.io.step.stage_step (cxdata.io.partitions): replaced per
-- table by a whole load, and for the new or changed files before a load of
-- some days. A file is read again only when its size or modification time
-- changed, or when a day it holds is staged. No personal data: file names,
-- sizes, times and counts only.

comment on table stg_files is 'The staging manifest of event sources read from files: per file, its modification time and size, and how many rows it holds on each day. A day''s files decide its version (stg_partitions.files_version); a new, changed or missing file makes its days stale.';
comment on column stg_files.source_table is 'The canonical input table the file feeds: orders, tickets, surveys, web_events or touches.';
comment on column stg_files.file is 'The file, as its rows'' _source label: its path relative to the config.';
comment on column stg_files.mtime_ns is 'The file''s modification time when it was last read, nanoseconds since the Unix epoch.';
comment on column stg_files.size is 'The file''s size in bytes when it was last read.';
comment on column stg_files.md5 is 'The md5 checksum of the file''s bytes when it was last read: with its name and size, its part of a day''s version.';
comment on column stg_files.seen_ns is 'When the file was last looked at (before it was read), nanoseconds since the Unix epoch; a file modified less than 2 s before that is read again next time.';
comment on column stg_files.partition_day is 'A day (project timezone) the file holds rows of; null for its rows whose event time is missing or unreadable.';
comment on column stg_files.rows is 'How many of the file''s records fall on that day (blank lines not counted).';
