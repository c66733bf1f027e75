-- stg_orders: orders from the sales system, one row per order (the transaction log).
--
-- grain: one row per order (order_id), refunds included
--
-- The table itself is created from the ingested frame's schema at every publish
-- (cxdata.warehouse.Warehouse.publish): column types follow the frame, and
-- unknown extra source columns are kept alongside the canonical ones below.
-- Only the documentation lives here. These comments are applied on every
-- publish, inside the transaction that swaps the new table in, so edit them
-- here, never in the warehouse. Comments for columns a source does not provide
-- are skipped. Timestamps are timestamptz, normalised to UTC at ingest.

comment on table stg_orders is 'Orders from the sales source, mapped onto the canonical orders columns (cxdata.schema): the transaction log that RFM, BG/NBD and Gamma-Gamma models read. One row per order, refunds included as negative amounts. Primary key: order_id.';
comment on column stg_orders.order_id is 'Order id in the sales system. Required; primary key of this table.';
comment on column stg_orders.customer_ref is 'CRM id of the customer who placed the order (stg_customers.customer_ref); null for guest orders, which are linked by email or phone instead.';
comment on column stg_orders.email is 'Email address given with the order, as the source holds it (not normalised); an identifier for identity resolution.';
comment on column stg_orders.phone is 'Phone number given with the order, as the source holds it (not normalised); an identifier for identity resolution.';
comment on column stg_orders.ordered_at is 'When the order was placed, UTC. Required.';
comment on column stg_orders.amount is 'Order value in the order currency; negative only for refunds. Required.';
comment on column stg_orders.currency is 'Currency of amount (ISO 4217 code such as EUR) when the source gives one.';
comment on column stg_orders.channel is 'Sales channel the order came through: web, store, phone ...';
comment on column stg_orders.status is 'Order status as the sales system reports it: completed, refunded, cancelled ...';
comment on column stg_orders._source is 'Lineage: where the row came from: the configured source name or file, or the label of its SQL query.';
comment on column stg_orders._loaded_at is 'Lineage: when ingest loaded the row, UTC (one value per load).';
comment on column stg_orders.partition_day is 'The day of ordered_at in the project''s timezone: the daily partition the row is staged in; a run restates whole days (cxdata.io.partitions).';
