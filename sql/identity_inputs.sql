-- identity_inputs: which version of each staged day the last identity run consumed.
--
-- grain: one row per (source_table, partition_day); one row with a null day per table consumed whole
--
-- Published whole by the identity step (cxdata.identity.delta) with the identity
-- tables. The next run hashes again only the days whose stg_partitions row
-- differs from the one here (and tables consumed whole); another identity config
-- or another set of tables makes it resolve in full.

comment on table identity_inputs is 'The staged days (stg_partitions versions) and tables the last identity run consumed, and the fingerprint of its identity config: the next run reads again only what changed since.';
comment on column identity_inputs.source_table is 'Input table: customers, orders, tickets, surveys, web_events or touches.';
comment on column identity_inputs.partition_day is 'The staged day consumed; null for a table consumed whole (not staged by day).';
comment on column identity_inputs.files_version is 'stg_partitions.files_version of the day when identity consumed it.';
comment on column identity_inputs.loaded_at is 'stg_partitions.loaded_at of the day when identity consumed it: a day staged again since is read again.';
comment on column identity_inputs.identity_config is 'md5 of the identity section of the config the run used; another one means a full identity run.';
