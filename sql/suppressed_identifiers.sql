-- suppressed_identifiers: the identifiers of erased people, as salted SHA-256 only.
--
-- grain: one row per suppressed (identifier_type, identifier_hash)
--
-- Appended by cxdata.privacy.erase.erase; read by every load (cxdata.privacy.suppress),
-- which drops the source rows carrying one of these identifiers before staging.
-- Only the documentation lives here.

comment on table suppressed_identifiers is 'The identifiers of erased people, kept only as salted hashes so that no load brings them back: a source row carrying one is dropped before staging and counted in load_audit.rows_suppressed. The salt is in the environment variable privacy.salt_env names, never in the warehouse. Primary key: identifier_type, identifier_hash.';
comment on column suppressed_identifiers.identifier_type is 'email, phone, customer_ref or anonymous_id.';
comment on column suppressed_identifiers.identifier_hash is 'Hex SHA-256 of the salt, the identifier type, a colon and the value normalised as identity normalises it (lower-case email, E.164 phone, trimmed id).';
comment on column suppressed_identifiers.request_id is 'The erasure request (erasure_log.request_id) that first suppressed it.';
comment on column suppressed_identifiers.suppressed_at is 'When that erasure was committed, UTC.';
