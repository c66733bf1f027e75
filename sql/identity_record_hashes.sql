-- identity_record_hashes: a hash of what identity read of every record, to find the records that changed.
--
-- grain: one row per source record (source_table, record_id)
--
-- Written by the identity step (cxdata.identity.delta) with the identity
-- tables, in one transaction: published whole by a full run; on an incremental
-- run the rows of the days read again (and of tables read whole) are replaced.
-- A record whose hash differs from the staged row's is resolved again. The hash
-- covers identifiers: owner only.

comment on table identity_record_hashes is 'A 64-bit hash of the columns identity reads (key, event time, identifiers) of every record the last identity run consumed; the next run resolves again the records whose hash changed, appeared or went.';
comment on column identity_record_hashes.source_table is 'Input table of the record: customers, orders, tickets, surveys, web_events or touches.';
comment on column identity_record_hashes.record_id is 'Primary key of the record in its table, as text.';
comment on column identity_record_hashes.partition_day is 'The staged day of the record (stg_<table>.partition_day); null for a table staged whole or a row without a day.';
comment on column identity_record_hashes.row_hash is 'Hash of the record''s key, event time and identifier columns as staged (stable within one polars version).';
