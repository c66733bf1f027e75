-- stg_tickets: service tickets, one row per ticket.
--
-- grain: one row per service ticket (ticket_id)
--
-- The table itself is created from the ingested frame's schema at every publish
-- (cxdata.warehouse.Warehouse.publish): column types follow the frame, and
-- unknown extra source columns are kept alongside the canonical ones below.
-- Only the documentation lives here. These comments are applied on every
-- publish, inside the transaction that swaps the new table in, so edit them
-- here, never in the warehouse. Comments for columns a source does not provide
-- are skipped. Timestamps are timestamptz, normalised to UTC at ingest.

comment on table stg_tickets is 'Service tickets from the service source, mapped onto the canonical tickets columns (cxdata.schema). One row per ticket; response and resolution times feed the service features and the CX KPIs. Primary key: ticket_id.';
comment on column stg_tickets.ticket_id is 'Ticket id in the service system. Required; primary key of this table.';
comment on column stg_tickets.customer_ref is 'CRM id of the customer who raised the ticket (stg_customers.customer_ref), when the service system knows it.';
comment on column stg_tickets.email is 'Email address of the requester, as the source holds it (not normalised); an identifier for identity resolution.';
comment on column stg_tickets.phone is 'Phone number of the requester, as the source holds it (not normalised); an identifier for identity resolution.';
comment on column stg_tickets.opened_at is 'When the ticket was opened, UTC. Required.';
comment on column stg_tickets.first_response_at is 'When an agent first responded, UTC; null if nobody has responded yet.';
comment on column stg_tickets.resolved_at is 'When the ticket was resolved, UTC; null while it is still open.';
comment on column stg_tickets.channel is 'Service channel the ticket came through: phone, chat, email ... Required.';
comment on column stg_tickets.category is 'Ticket category or contact reason as the service system labels it.';
comment on column stg_tickets._source is 'Lineage: where the row came from: the configured source name or file, or the label of its SQL query.';
comment on column stg_tickets._loaded_at is 'Lineage: when ingest loaded the row, UTC (one value per load).';
comment on column stg_tickets.partition_day is 'The day of opened_at in the project''s timezone: the daily partition the row is staged in; a run restates whole days (cxdata.io.partitions).';
