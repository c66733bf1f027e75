-- stg_surveys: survey answers (CSAT, NPS, CES), one row per response.
--
-- grain: one row per survey answer (response_id)
--
-- The table itself is created from the ingested frame's schema at every publish
-- (cxdata.warehouse.Warehouse.publish): column types follow the frame, and
-- unknown extra source columns are kept alongside the canonical ones below.
-- Only the documentation lives here. These comments are applied on every
-- publish, inside the transaction that swaps the new table in, so edit them
-- here, never in the warehouse. Comments for columns a source does not provide
-- are skipped. Timestamps are timestamptz, normalised to UTC at ingest.

comment on table stg_surveys is 'Survey answers from the service source, mapped onto the canonical surveys columns (cxdata.schema): CSAT, NPS and CES responses, one row per response. Primary key: response_id.';
comment on column stg_surveys.response_id is 'Survey response id in the source system. Required; primary key of this table.';
comment on column stg_surveys.ticket_id is 'Ticket the survey followed (stg_tickets.ticket_id), if any.';
comment on column stg_surveys.customer_ref is 'CRM id of the respondent (stg_customers.customer_ref), when known.';
comment on column stg_surveys.email is 'Email address of the respondent, as the source holds it (not normalised); an identifier for identity resolution.';
comment on column stg_surveys.responded_at is 'When the answer was given, UTC. Required.';
comment on column stg_surveys.kind is 'Survey kind, which fixes the scale of score: csat (1-5), nps (0-10) or ces (1-7). Required.';
comment on column stg_surveys.score is 'The answer on the scale of its kind (see kind). Required.';
comment on column stg_surveys._source is 'Lineage: where the row came from: the configured source name or file, or the label of its SQL query.';
comment on column stg_surveys._loaded_at is 'Lineage: when ingest loaded the row, UTC (one value per load).';
comment on column stg_surveys.partition_day is 'The day of responded_at in the project''s timezone: the daily partition the row is staged in; a run restates whole days (cxdata.io.partitions).';
