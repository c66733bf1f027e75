-- shard_handoffs: what each step of a run in customer shards hands to the next step, which may run in another
-- process or on another machine: a shard's partial sums, the global fits, a shard's scores.
--
-- grain: one row per run, step and output (run_id, step_key, output_name)
--
-- Written and read by cxdata.handoffs (put, get) through the Dagster IO manager of the sharded value and
-- touchpoint steps (pipelines/handoff.py); only runs with scale.shards above 1 write it. A retried step
-- replaces its own row; a re-execution from a failed step reads the earlier run's rows. The publishing step
-- drops its run's rows and those of runs whose last row is 7 days old (cxdata.handoffs.drop_finished).
-- Holds customer keys with their scores and features (no email, phone, name or customer_ref); the payload is
-- a pickle, loaded only from this warehouse, after its sha256 is checked.

comment on table shard_handoffs is 'The values the steps of a run in customer shards pass to each other (pickled): partial sums, global fits, shard scores. Dropped when the run publishes, or 7 days after a failed run. Primary key: run_id, step_key, output_name. Customer keys and scores, no contact details.';
comment on column shard_handoffs.run_id is 'The Dagster run whose step wrote the value.';
comment on column shard_handoffs.step_key is 'The Dagster step that wrote it (e.g. score_customer_value.value_partial_s03).';
comment on column shard_handoffs.output_name is 'The step''s output the value is.';
comment on column shard_handoffs.sha256 is 'Hex SHA-256 of payload; a mismatch fails the step that loads it.';
comment on column shard_handoffs.bytes is 'Length of payload in bytes.';
comment on column shard_handoffs.payload is 'The pickled value (Python''s pickle, highest protocol; DuckDB BLOB, PostgreSQL bytea).';
comment on column shard_handoffs.written_at is 'When the step stored it, UTC.';
