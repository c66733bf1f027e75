-- marketing_segment_export: the pseudonymous segment list marketing pulls.
--
-- grain: one row per segment member and scoring moment (segment_members row)
--
-- Created by cxdata.warehouse.views.create_views after segment_members,
-- customer_scores and dim_customer_pii are published. The definition differs
-- per dialect only in how SHA-256 is spelt, so it lives in
-- marketing_segment_export.duckdb.sql and marketing_segment_export.postgresql.sql;
-- this file holds the documentation. No raw personal value leaves through it:
-- email and phone appear only as SHA-256 hashes of their normalised form (the
-- form ad platforms match on). The role cxdata_marketing reads this view but not
-- dim_customer_pii; on PostgreSQL the view reads with its owner's rights.
-- :currency is the project's currency (config key currency), rendered as a
-- literal when the view is created (cxdata.warehouse.views).
--
-- example: Members of each segment at the latest scoring moment, with a hashed email to match on
--   select segment, count(*) as members, count(email_sha256) as with_email
--   from marketing_segment_export
--   where as_of = (select max(as_of) from marketing_segment_export)
--   group by segment
--   order by segment

comment on view marketing_segment_export is 'Segment members for marketing activation: segment, customer_key, as_of, scores (amounts in the currency column), and SHA-256 hashes of the normalised email and phone (for ad-platform audience matching). Pseudonymous: no raw email, phone, name or postcode.';
comment on column marketing_segment_export.segment is 'Segment name (segment_members.segment).';
comment on column marketing_segment_export.customer_key is 'Pseudonymous resolved customer id (dim_customer.customer_key).';
comment on column marketing_segment_export.as_of is 'Moment the scores behind the segment were computed at, UTC.';
comment on column marketing_segment_export.email_sha256 is 'Hex SHA-256 of the customer''s best email, trimmed and lower-cased (UTF-8); null without an email.';
comment on column marketing_segment_export.phone_sha256 is 'Hex SHA-256 of the customer''s best phone in E.164 form, e.g. +34600111222 (UTF-8); null without a phone.';
comment on column marketing_segment_export.lifetime_value is 'Customer lifetime value over the model horizon, in the currency column''s currency (customer_scores.clv); null when the as_of is no longer in customer_scores.';
comment on column marketing_segment_export.lifetime_value_percentile is 'Percent of scored customers whose lifetime value is at most this one''s.';
comment on column marketing_segment_export.churn_probability is 'Probability (0..1) of no order in the churn horizon.';
comment on column marketing_segment_export.value_at_risk is 'Lifetime value expected to be lost: lifetime value times churn probability; in the currency column''s currency.';
comment on column marketing_segment_export.probability_active is 'Probability (0..1) that the customer is still active (customer_scores.p_alive).';
comment on column marketing_segment_export.currency is 'ISO 4217 code of the amounts (lifetime_value, value_at_risk): the project''s currency (config key currency).';
