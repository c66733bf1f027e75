-- identity_links: which source record carries which identifier, and what became of the identifier.
--
-- grain: one row per (source_table, record_id, identifier_type, identifier_value)
--
-- Written by the identity step (cxdata.identity.step) in the transaction that
-- writes identity_record_keys and customer_identity: published whole by a full
-- run, its rows replaced by record on an incremental one. An incremental run
-- finds through it the records that carry a value, to resolve their customers
-- again, and counts the blocked rows of customer_identity over it. Records
-- without any identifier have no row. Holds personal data: keep it behind roles.

comment on table identity_links is 'Every identifier each source record carries (normalised, or the raw lower-case text of a blocklisted placeholder) with its status; what incremental identity runs find the records of a value through. Personal data.';
comment on column identity_links.source_table is 'Input table of the record: customers, orders, tickets, surveys, web_events or touches.';
comment on column identity_links.record_id is 'Primary key of the record in its table, as text (identity_record_keys.record_id).';
comment on column identity_links.identifier_type is 'customer_ref, email, phone, anonymous_id, or ticket (a ticket id or the ticket a survey followed).';
comment on column identity_links.identifier_value is 'The value as customer_identity holds it. Personal data.';
comment on column identity_links.status is 'The identifier''s status in customer_identity: linked, shared or blocked.';
comment on column identity_links.event_time is 'Event time of the record, UTC (null when it has none).';
