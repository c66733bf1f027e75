-- fct_surveys: one row per survey answer (CSAT, NPS, CES) with a normalised score and NPS class.
--
-- grain: one row per survey answer (stg_surveys row)
--
-- Built by cxdata.marts.fct_surveys from stg_surveys, identity resolution's
-- record keys and, for the channel, the tickets. Only the documentation lives
-- here and is applied on every publish. No personal data. Timestamps are UTC.

comment on table fct_surveys is 'Survey answers fact: one row per response (stg_surveys) with customer_key, the score normalised to 0..1 of its scale, CSAT satisfaction, NPS class and the service channel of the ticket it followed. Primary key: response_id.';
comment on column fct_surveys.response_id is 'Survey response id; primary key.';
comment on column fct_surveys.customer_key is 'Resolved customer (dim_customer.customer_key); null when identity resolution could not place the answer.';
comment on column fct_surveys.ticket_id is 'Ticket the survey followed (fct_tickets.ticket_id), if any.';
comment on column fct_surveys.responded_at is 'When the answer was given, UTC.';
comment on column fct_surveys.responded_date is 'UTC calendar day of responded_at.';
comment on column fct_surveys.kind is 'Survey kind, lower case: csat (scale 1-5), nps (0-10) or ces (1-7).';
comment on column fct_surveys.score is 'The answer on the scale of its kind.';
comment on column fct_surveys.score_normalised is 'The answer mapped onto 0..1 of its scale: (score - low) / (high - low); CSAT 1-5, NPS 0-10, CES 1-7. For CES higher means more effort. Null for an unknown kind.';
comment on column fct_surveys.is_satisfied is 'CSAT only: true for 4 or 5 of 5, false for 1-3; null for NPS and CES answers.';
comment on column fct_surveys.nps_class is 'NPS only: promoter (9-10), passive (7-8) or detractor (0-6); null for CSAT and CES answers.';
comment on column fct_surveys.channel is 'Service channel of the ticket the survey followed (fct_tickets.channel); null when it followed no known ticket.';
