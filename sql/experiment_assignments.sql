-- experiment_assignments: who is in the treatment and who in the control group of each randomised holdout.
--
-- grain: one row per campaign and customer assigned to its treatment or control group
--
-- Written by `cxdata segments export NAME --holdout SHARE --campaign CHANNEL/CAMPAIGN`
-- (cxdata.serve.holdouts): every member of the export not yet assigned to the campaign is assigned by a
-- keyed hash of the campaign and customer_key (cxdata.touchpoints.experiments), and only the treated members
-- are written to the file. Append-only: a customer keeps the group of their first row on every later export,
-- so readers take the first row per (campaign, customer_key). No personal data. "group" is an SQL keyword:
-- quote it in queries.

comment on table experiment_assignments is 'Randomised holdouts of segment exports: one row per customer the first time an export assigned them to a campaign''s treatment or control group (later exports keep that group). Key: (campaign, customer_key), the earliest assigned_at when a concurrent export added a second row.';
comment on column experiment_assignments.campaign is 'The touchpoint that sent the export, as channel/campaign (touchpoint_scores.touchpoint).';
comment on column experiment_assignments.customer_key is 'Resolved customer (dim_customer.customer_key).';
comment on column experiment_assignments.group is 'treatment (in the exported file, contacted) or control (withheld from the file, never contacted by this campaign).';
comment on column experiment_assignments.share is 'The control share the export was asked for (--holdout), e.g. 0.1.';
comment on column experiment_assignments.assigned_at is 'When the export assigned the customer, UTC; the experiment''s response window starts here.';
comment on column experiment_assignments.salt_id is 'Fingerprint of the assignment salt (12 hex characters; the salt cannot be recovered from it): a new value means the salt was rotated, and customers assigned after it are drawn independently of those before.';
comment on column experiment_assignments.segment is 'The segment whose export assigned the customer.';
