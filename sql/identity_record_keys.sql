-- identity_record_keys: every source record and the customer it resolved to.
--
-- grain: one row per source record (source_table, record_id)
--
-- Published by the identity step (cxdata.identity.resolve) on every run; one row
-- per record of stg_customers, stg_orders, stg_tickets, stg_surveys,
-- stg_web_events and stg_touches. Fact tables take their customer_key from here.

comment on table identity_record_keys is 'Every source record with the customer_key it resolved to and the identifier type that attached it. One row per record; the bridge from staged tables to customers.';
comment on column identity_record_keys.source_table is 'Input table of the record: customers, orders, tickets, surveys, web_events or touches.';
comment on column identity_record_keys.record_id is 'Primary key of the record in its table, as text (order_id, ticket_id, response_id, event_id, touch_id, customer_ref).';
comment on column identity_record_keys.customer_key is 'Stable key of the resolved customer (dim_customer.customer_key); unchanged between runs unless logged in identity_merges.';
comment on column identity_record_keys.linked_by is 'Identifier type through which the record joined its customer (customer_ref, email, phone, anonymous_id, ticket); null for the record that founded the customer or one with a single identifier.';
