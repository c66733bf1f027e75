-- stg_touchpoint_costs: marketing spend per period, channel and campaign.
--
-- grain: one row per cost period, channel and campaign
--
-- The table itself is created from the ingested frame's schema at every publish
-- (cxdata.warehouse.Warehouse.publish): column types follow the frame, and
-- unknown extra source columns are kept alongside the canonical ones below.
-- Only the documentation lives here. These comments are applied on every
-- publish, inside the transaction that swaps the new table in, so edit them
-- here, never in the warehouse. Comments for columns a source does not provide
-- are skipped. Timestamps are timestamptz, normalised to UTC at ingest.

comment on table stg_touchpoint_costs is 'Marketing spend from the finance source, mapped onto the canonical touchpoint_costs columns (cxdata.schema): one row per period, channel and campaign. Return on spend in touchpoint_scores divides by it. No primary key.';
comment on column stg_touchpoint_costs.period_start is 'First day of the period the cost covers (a calendar date, no time zone). Required.';
comment on column stg_touchpoint_costs.channel is 'Marketing channel the spend belongs to; matches stg_touches.channel. Required.';
comment on column stg_touchpoint_costs.campaign is 'Campaign the spend belongs to, matching stg_touches.campaign; null for spend at channel level.';
comment on column stg_touchpoint_costs.cost is 'Spend in the period, in the project currency (setting currency; the source has no currency column, touchpoint_scores carries the code beside the spend it sums). Required.';
comment on column stg_touchpoint_costs._source is 'Lineage: where the row came from: the configured source name or file, or the label of its SQL query.';
comment on column stg_touchpoint_costs._loaded_at is 'Lineage: when ingest loaded the row, UTC (one value per load).';
