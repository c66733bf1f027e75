-- pii_access_log: who read personal data, appended (never rewritten).
--
-- grain: one row per access: a contact export (cxdata segments export with
-- contacts or a template) or an API request of the personal scope
--
-- Each access is first written to the project's outbox (.cxdata/pii_access/,
-- cxdata.privacy.access_log) before the data is given; every run moves the
-- outbox into this table, so the table lags the accesses by up to one run. It
-- names no customer and no value asked for. Only the documentation lives here.

comment on table pii_access_log is 'Every access to personal data: contact exports (cxdata segments export with contacts or an audience template) and API requests of the personal scope (contacts of a segment, a customer lookup by email or customer_ref). Recorded before the data is given, moved here by the next run. No customer, identifier or looked-up value. Primary key: access_id.';
comment on column pii_access_log.access_id is 'A random id given when the access was recorded; primary key (a retried flush adds each access once).';
comment on column pii_access_log.accessed_at is 'When the access was recorded, UTC (for a CSV stream, when it ended).';
comment on column pii_access_log.actor is 'Who: token:<first 16 hex digits of the SHA-256 of the bearer token> for the API (the token itself never), os:<user> for a command.';
comment on column pii_access_log.via is 'api or cli.';
comment on column pii_access_log.action is 'segment_contacts (API page or CSV of a segment with contacts), segment_export (cxdata segments export), customer_lookup (API /customers by email or customer_ref).';
comment on column pii_access_log.segment is 'The segment whose members were given; null for a lookup.';
comment on column pii_access_log.purpose is 'The consent purpose the contacts were given for (email, sms, ads); null for a lookup.';
comment on column pii_access_log.contacts is 'raw, hashed, or the audience template (google, meta); null for a lookup.';
comment on column pii_access_log.rows is 'Rows given: members written or sent, or customers a lookup matched.';
