-- mart_inputs: what the last build of each fact mart read, so the next one reads again only what changed.
--
-- grain: one row per (mart, source_table, partition_day); one row with a null day per table read whole
--
-- Replaced per mart (by the mart's name) in the transaction that writes the
-- mart (cxdata.marts.delta). The next build of a fact mart (fct_orders,
-- fct_tickets, fct_surveys, fct_touches, fct_web_sessions) reads again only the days whose stg_partitions
-- row differs from the one here and the customers identity touched since
-- identity_run_id; a changed mart_config, another set of tables, or an
-- identity run it cannot follow makes it build whole.

comment on table mart_inputs is 'Per fact mart, the staged days (stg_partitions versions) its last build read, the identity run whose keys it took and a fingerprint of what shapes its rows: the next build updates only what changed since.';
comment on column mart_inputs.mart is 'The fact mart: fct_orders, fct_tickets, fct_surveys, fct_touches or fct_web_sessions.';
comment on column mart_inputs.source_table is 'Staged input table the mart is built from: orders, tickets, surveys, touches or web_events.';
comment on column mart_inputs.partition_day is 'The staged day read; null for a table read whole (not staged by day).';
comment on column mart_inputs.files_version is 'stg_partitions.files_version of that day when it was read.';
comment on column mart_inputs.loaded_at is 'stg_partitions.loaded_at of that day when it was read, UTC.';
comment on column mart_inputs.identity_run_id is 'The last identity run (identity_runs) when the mart was built: its keys are the ones the mart carries.';
comment on column mart_inputs.mart_config is 'md5 of the currency, the journey settings and the cxdata version: a change rebuilds the mart whole.';
