-- quarantine_orders: the rows of the orders source that failed a row rule, one row per failing source record.
--
-- grain: one row per source record that failed a row rule (its rules listed in it)
--
-- Published on every load of orders, together with stg_orders and a load_audit row,
-- empty when nothing failed, so a BI tile shows zero rather than an old count.
-- rows_in = rows in stg_orders + rows here, for every load (see load_audit).
-- The rules and their priority are documented in cxdata/validate/rules.py.
-- Only the documentation lives here: the table is created from the frame at
-- every publish (cxdata.warehouse.Warehouse.publish).

comment on table quarantine_orders is 'Rows of the orders source (orders from the sales system) held back at ingest because they failed a row rule of the input contract; they are not in stg_orders. Nothing is dropped silently: every source record is either in stg_orders or here. A repeated order_id keeps its first occurrence (files in name order, then record order) in stg_orders; later ones land here as duplicate_key.';
comment on column quarantine_orders.rule is 'The first rule the row fails, by priority: required_missing, unparseable, unknown_value, score_out_of_range, negative_amount, future_time, duplicate_key.';
comment on column quarantine_orders.rules is 'Every rule the row fails, comma-separated, in priority order.';
comment on column quarantine_orders.failed_column is 'The canonical column the first failing rule looked at (cxdata.schema).';
comment on column quarantine_orders.failed_value is 'The offending value as the source holds it, as text; null when the value is missing.';
comment on column quarantine_orders._source is 'Lineage: the file (relative to the config) or the label of the SQL query the row came from.';
comment on column quarantine_orders.record is 'The 1-based number of the record within its file or query result; a CSV header is not counted.';
comment on column quarantine_orders.original is 'The whole source record as a JSON object of its source column names and their raw values as text (null for an empty cell).';
comment on column quarantine_orders._loaded_at is 'Lineage: when ingest loaded the row, UTC (one value per load; matches load_audit.loaded_at).';
comment on column quarantine_orders.partition_day is 'The day of ordered_at in the project''s timezone when it could be read: the daily partition the row was held back from; null when the time is missing or unreadable (such rows are read again with their file on every load).';
comment on column quarantine_orders.order_id is 'The row''s order_id as parsed (null when missing), so a repeated order_id is found among held-back rows too; the source text is in original.';
