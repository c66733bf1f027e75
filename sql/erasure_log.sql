-- erasure_log: one row per erasure request carried out, and one per rejection of
-- a request from privacy.requests; appended (never rewritten).
--
-- grain: one row per request carried out (status erased or not_found), plus one
-- per request and reason it was rejected for (status rejected)
--
-- Written by cxdata.privacy.erase.erase in the transaction that deletes the
-- person's rows, so a request is logged exactly when its deletions are visible;
-- rejections by cxdata.privacy.requests (the erasure_log asset).
-- It holds no personal data: no identifier value, no customer_key. Only the
-- documentation lives here.

comment on table erasure_log is 'Every erasure request carried out (cxdata forget, or the privacy.requests source on each run): when it was received and done, what kind of identifier named the person, how many customers, records and identifiers it erased, and the rows deleted per table by its batch; and every rejection of a request from privacy.requests, with its reason (retried each run until the source is mended). No personal data: never an identifier value or a customer_key.';
comment on column erasure_log.request_id is 'The request''s reference (letters, digits and ._:- only, so never an address); a request rejected for a missing or malformed id is named by its row instead: <source>#<record number>.';
comment on column erasure_log.requested_by is 'The kinds of identifier the request named the person by, joined by +: email, phone, customer_ref, customer_key.';
comment on column erasure_log.received_at is 'When the request was received, UTC.';
comment on column erasure_log.customers is 'Resolved customers (customer_key) whose rows were deleted; 0 when the warehouse held nobody with the identifier.';
comment on column erasure_log.records is 'Source records (identity_record_keys rows) of those customers that were deleted.';
comment on column erasure_log.identifiers_suppressed is 'Identifiers newly kept as salted hashes in suppressed_identifiers by this request.';
comment on column erasure_log.identifiers_shared_kept is 'Identifiers of the person that other customers'' records carry too (a household phone): neither deleted from those customers'' rows nor suppressed.';
comment on column erasure_log.status is 'erased: rows were deleted; not_found: nobody held the identifier (it is suppressed all the same); rejected: the request could not be carried out (rejected_reason), nothing was deleted.';
comment on column erasure_log.erased_at is 'When the erasure was committed (or the request rejected), UTC.';
comment on column erasure_log.batch_id is 'The erasure call the request was carried out in: its requests were deleted together, in one transaction.';
comment on column erasure_log.batch_rows_deleted is 'JSON object: rows deleted per table by the whole batch (all its requests).';
comment on column erasure_log.rejected_reason is 'Why a request was rejected, naming the columns and never their values: no request_id, request_id not 1-80 letters, digits or ._:-, received_at unreadable, no identifier, <identifier> unreadable; null for requests carried out.';
