-- stg_web_events: web analytics events, one row per event.
--
-- grain: one row per web analytics event (event_id)
--
-- The table itself is created from the ingested frame's schema at every publish
-- (cxdata.warehouse.Warehouse.publish): column types follow the frame, and
-- unknown extra source columns are kept alongside the canonical ones below.
-- Only the documentation lives here. These comments are applied on every
-- publish, inside the transaction that swaps the new table in, so edit them
-- here, never in the warehouse. Comments for columns a source does not provide
-- are skipped. Timestamps are timestamptz, normalised to UTC at ingest.

comment on table stg_web_events is 'Web analytics events from the web source, mapped onto the canonical web_events columns (cxdata.schema). One row per event; sessions, conversion and the web touchpoints are built from them. Primary key: event_id.';
comment on column stg_web_events.event_id is 'Event id in the web analytics system. Required; primary key of this table.';
comment on column stg_web_events.anonymous_id is 'Cookie or device id of the visitor. Required; a login or form submit that also carries customer_ref or email ties it to a customer.';
comment on column stg_web_events.customer_ref is 'CRM id of the visitor (stg_customers.customer_ref) when logged in or otherwise identified.';
comment on column stg_web_events.email is 'Email address captured by the event (login, form submit), as the source holds it (not normalised).';
comment on column stg_web_events.occurred_at is 'When the event happened, UTC. Required.';
comment on column stg_web_events.event_type is 'What happened: page_view, login, form_submit, add_to_cart, purchase ... Required.';
comment on column stg_web_events.page_path is 'Path of the page the event happened on, without scheme and host.';
comment on column stg_web_events.utm_source is 'utm_source of the landing URL: who sent the visit (google, newsletter ...).';
comment on column stg_web_events.utm_medium is 'utm_medium of the landing URL: the kind of traffic (cpc, email, social ...).';
comment on column stg_web_events.utm_campaign is 'utm_campaign of the landing URL: the campaign that sent the visit.';
comment on column stg_web_events.referrer is 'Referring URL as the browser reported it.';
comment on column stg_web_events._source is 'Lineage: where the row came from: the configured source name or file, or the label of its SQL query.';
comment on column stg_web_events._loaded_at is 'Lineage: when ingest loaded the row, UTC (one value per load).';
comment on column stg_web_events.partition_day is 'The day of occurred_at in the project''s timezone: the daily partition the row is staged in; a run restates whole days (cxdata.io.partitions).';
