-- stg_touches: marketing touches (sends, opens, clicks, impressions), one row per touch.
--
-- grain: one row per marketing touch (touch_id)
--
-- The table itself is created from the ingested frame's schema at every publish
-- (cxdata.warehouse.Warehouse.publish): column types follow the frame, and
-- unknown extra source columns are kept alongside the canonical ones below.
-- Only the documentation lives here. These comments are applied on every
-- publish, inside the transaction that swaps the new table in, so edit them
-- here, never in the warehouse. Comments for columns a source does not provide
-- are skipped. Timestamps are timestamptz, normalised to UTC at ingest.

comment on table stg_touches is 'Marketing touches from the marketing source, mapped onto the canonical touches columns (cxdata.schema): sends, opens, clicks and impressions, one row per touch. Attribution and touchpoint_scores read them. Primary key: touch_id.';
comment on column stg_touches.touch_id is 'Touch id in the marketing system. Required; primary key of this table.';
comment on column stg_touches.customer_ref is 'CRM id of the person touched (stg_customers.customer_ref), when known.';
comment on column stg_touches.email is 'Email address the touch was sent to, as the source holds it (not normalised).';
comment on column stg_touches.anonymous_id is 'Cookie or device id the touch reached (display, social), matching stg_web_events.anonymous_id.';
comment on column stg_touches.occurred_at is 'When the touch happened, UTC. Required.';
comment on column stg_touches.channel is 'Marketing channel: email, paid_search, social ... Required; matches stg_touchpoint_costs.channel.';
comment on column stg_touches.campaign is 'Campaign name or id; matches stg_touchpoint_costs.campaign.';
comment on column stg_touches.kind is 'What the touch was: sent, open, click or impression. Required.';
comment on column stg_touches._source is 'Lineage: where the row came from: the configured source name or file, or the label of its SQL query.';
comment on column stg_touches._loaded_at is 'Lineage: when ingest loaded the row, UTC (one value per load).';
comment on column stg_touches.partition_day is 'The day of occurred_at in the project''s timezone: the daily partition the row is staged in; a run restates whole days (cxdata.io.partitions).';
