-- stg_customers: customers from the sales/CRM system, one row per CRM customer record.
--
-- grain: one row per CRM customer record (customer_ref)
--
-- The table itself is created from the ingested frame's schema at every publish
-- (cxdata.warehouse.Warehouse.publish): column types follow the frame, and
-- unknown extra source columns are kept alongside the canonical ones below.
-- Only the documentation lives here. These comments are applied on every
-- publish, inside the transaction that swaps the new table in, so edit them
-- here, never in the warehouse. Comments for columns a source does not provide
-- are skipped. Timestamps are timestamptz, normalised to UTC at ingest.

comment on table stg_customers is 'Customers from the sales/CRM source, mapped onto the canonical customers columns (cxdata.schema). One row per CRM customer record as ingested, before identity resolution; dim_customer holds the resolved customers. Primary key: customer_ref.';
comment on column stg_customers.customer_ref is 'Customer id in the CRM. Required; primary key of this table, and the id that orders, tickets, surveys, web events and touches carry as customer_ref.';
comment on column stg_customers.email is 'Email address as the source holds it (not normalised); an identifier for identity resolution. Null when unknown.';
comment on column stg_customers.phone is 'Phone number as the source holds it (not normalised); an identifier for identity resolution. Null when unknown.';
comment on column stg_customers.first_name is 'Given name as recorded in the CRM.';
comment on column stg_customers.last_name is 'Family name as recorded in the CRM.';
comment on column stg_customers.postcode is 'Postal code as recorded in the CRM.';
comment on column stg_customers.country is 'Country code or name as recorded in the CRM.';
comment on column stg_customers.created_at is 'When the CRM record was created, UTC.';
comment on column stg_customers.consent_email is 'The record''s statement on marketing email: true agreed, false refused, null not stated (yes/no, true/false, 1/0, Y/N and the like in the source; anything else is quarantined).';
comment on column stg_customers.consent_sms is 'The record''s statement on marketing SMS: true agreed, false refused, null not stated.';
comment on column stg_customers.consent_ads is 'The record''s statement on ad-platform audiences: true agreed, false refused, null not stated.';
comment on column stg_customers.consent_updated_at is 'When the record''s consent statements were made, UTC; customer_consent takes the newest per purpose.';
comment on column stg_customers._source is 'Lineage: where the row came from: the configured source name or file, or the label of its SQL query.';
comment on column stg_customers._loaded_at is 'Lineage: when ingest loaded the row, UTC (one value per load).';
