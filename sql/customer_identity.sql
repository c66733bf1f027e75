-- customer_identity: every identifier value and the customer_key it maps to.
--
-- grain: one row per identifier type and normalised value
--
-- Holds personal data (normalised emails and phones): keep it behind roles.
-- The next run reads this table back so customer keys stay stable.

comment on table customer_identity is 'Every identifier value seen in the sources (normalised), the customer_key it maps to, and whether it linked records, was treated as shared (over the sharing limit) or blocked (placeholder). Personal data.';
comment on column customer_identity.identifier_type is 'customer_ref, email, phone or anonymous_id.';
comment on column customer_identity.identifier_value is 'The normalised value: trimmed lower-case email, E.164 phone, trimmed customer_ref, anonymous id. Personal data.';
comment on column customer_identity.customer_key is 'Customer the identifier belongs to; null when the identifier is shared or blocked and so belongs to no one customer.';
comment on column customer_identity.status is 'linked: used to join records; shared: seen with more customers than its type allows (a household phone), so it joins no one; blocked: a placeholder on the blocklist.';
comment on column customer_identity.first_seen is 'Earliest event time of a record carrying the identifier, UTC; the oldest identifier of a customer decides which key survives a merge.';
comment on column customer_identity.last_seen is 'Latest event time of a record carrying the identifier, UTC.';
comment on column customer_identity.records is 'Number of source records carrying the identifier.';
comment on column customer_identity.run_id is 'Run that published this mapping.';
