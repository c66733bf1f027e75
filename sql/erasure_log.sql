-- erasure_log: one row per erasure request carried out, appended (never rewritten).
--
-- grain: one row per erasure request
--
-- Written by cxdata.privacy.erase.erase in the transaction that deletes the
-- person's rows, so a request is logged exactly when its deletions are visible.
-- It holds no personal data: no identifier value, no customer_key. Only the
-- documentation lives here.

comment on table erasure_log is 'Every erasure request carried out (cxdata forget): when it was received and done, what kind of identifier named the person, how many customers, records and identifiers it erased, and the rows deleted per table by its batch. No personal data: never an identifier value or a customer_key. Primary key: request_id.';
comment on column erasure_log.request_id is 'The request''s reference (letters, digits and ._:- only, so never an address); primary key.';
comment on column erasure_log.requested_by is 'The kind of identifier the request named the person by: email, phone, customer_ref, anonymous_id or customer_key.';
comment on column erasure_log.received_at is 'When the request was received, UTC.';
comment on column erasure_log.customers is 'Resolved customers (customer_key) whose rows were deleted; 0 when the warehouse held nobody with the identifier.';
comment on column erasure_log.records is 'Source records (identity_record_keys rows) of those customers that were deleted.';
comment on column erasure_log.identifiers_suppressed is 'Identifiers newly kept as salted hashes in suppressed_identifiers by this request.';
comment on column erasure_log.identifiers_shared_kept is 'Identifiers of the person that other customers'' records carry too (a household phone): neither deleted from those customers'' rows nor suppressed.';
comment on column erasure_log.status is 'erased: rows were deleted; not_found: nobody held the identifier (it is suppressed all the same).';
comment on column erasure_log.erased_at is 'When the erasure was committed, UTC.';
comment on column erasure_log.batch_id is 'The erasure call the request was carried out in: its requests were deleted together, in one transaction.';
comment on column erasure_log.batch_rows_deleted is 'JSON object: rows deleted per table by the whole batch (all its requests).';
