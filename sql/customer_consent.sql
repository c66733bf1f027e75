-- customer_consent: whether each resolved customer agreed to be contacted for each purpose.
--
-- grain: one row per resolved customer_key with a CRM record
--
-- Built by cxdata.marts.consent.customer_consent from stg_customers placed by
-- identity_record_keys: per purpose, the newest statement of the customer's CRM
-- records (a record that says nothing of a purpose does not undo an older one).
-- Only the documentation lives here.

comment on table customer_consent is 'Whether each resolved customer agreed to be contacted by email, SMS and in ad audiences: per purpose, the newest statement (consent_updated_at) among the customer''s CRM records. A customer missing here, or with a null purpose, never stated it and has not agreed: exports for that purpose (cxdata segments export --purpose) leave them out. Primary key: customer_key.';
comment on column customer_consent.customer_key is 'Resolved customer (dim_customer.customer_key); primary key.';
comment on column customer_consent.consent_email is 'True when the newest statement agreed to marketing email, false when it refused; null when no CRM record stated it (no consent).';
comment on column customer_consent.consent_sms is 'True when the newest statement agreed to marketing SMS, false when it refused; null when never stated (no consent).';
comment on column customer_consent.consent_ads is 'True when the newest statement agreed to ad-platform audiences (Customer Match, Custom Audiences), false when it refused; null when never stated (no consent).';
comment on column customer_consent.consent_updated_at is 'When the newest of the three statements was made, UTC; null when none was.';
