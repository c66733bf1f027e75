-- cx_alerts: closed-loop alerts, one row per source record that called for one; never two for the same record.
--
-- Written by cxdata.alerts.step.alerts_step: new alerts are added as pending
-- before any notification is tried, then marked sent after the webhook answers
-- 2xx (redirects are not followed); a failed notification stays pending and is
-- retried on the next run. An alert's row is saved right after its POST, before
-- the next, so a killed run re-sends at most the one alert in flight; every POST
-- carries alert_id (body field and Idempotency-Key header) for the receiver to
-- deduplicate on.
-- No personal data: customers appear by key only. Timestamps are UTC.
--
-- grain: one row per source record that called for an alert (alert_id)

comment on table cx_alerts is 'Closed-loop alerts: a detractor survey answer (NPS, CSAT, CES) or a first-response SLA breach of a customer at or above alerts.min_clv_percentile, and whether the team was notified. Primary key: alert_id.';
comment on column cx_alerts.alert_id is 'Id derived from the source record: survey:<response_id> or ticket:<ticket_id>:sla; primary key, so a record alerts once. Sent with every notification (JSON field alert_id and Idempotency-Key header), the same on every retry, so the receiver can deduplicate.';
comment on column cx_alerts.customer_key is 'Resolved customer (dim_customer.customer_key).';
comment on column cx_alerts.reason is 'nps_detractor (NPS <= alerts.nps_max), low_csat (CSAT <= alerts.csat_max), high_effort (CES >= alerts.ces_min) or sla_breach (no first response within alerts.sla_hours).';
comment on column cx_alerts.detail is 'The triggering value: survey kind and score, or the first-response time against the SLA.';
comment on column cx_alerts.source_table is 'Table of the source record: fct_surveys or fct_tickets.';
comment on column cx_alerts.source_id is 'Id of the source record: fct_surveys.response_id or fct_tickets.ticket_id.';
comment on column cx_alerts.occurred_at is 'When the alert condition arose, UTC: the survey answer, or the moment the first-response SLA ran out.';
comment on column cx_alerts.clv is 'customer_scores.clv of the customer when the alert was raised, in currency.';
comment on column cx_alerts.clv_percentile is 'customer_scores.clv_percentile when the alert was raised (0-100, 100 most valuable).';
comment on column cx_alerts.value_at_risk is 'customer_scores.value_at_risk (clv times churn probability) when the alert was raised, in currency; null when churn was not scored.';
comment on column cx_alerts.currency is 'ISO 4217 code of clv and value_at_risk: the project setting currency.';
comment on column cx_alerts.created_at is 'When the run that raised the alert started, UTC (run_context.started_at).';
comment on column cx_alerts.run_id is 'The orchestrator run that raised the alert.';
comment on column cx_alerts.as_of is 'The as_of of the run that raised the alert, UTC: the end of the alerts.lookback_days window it was found in.';
comment on column cx_alerts.status is 'pending (not delivered: no webhook configured, not tried yet, or the webhook was unreachable or answered other than 2xx), unknown (a POST got no answer, a timeout or a dropped connection, so the webhook may have it; retried with the same alert_id) or sent (answered 2xx). pending and unknown alerts are retried on the next run.';
comment on column cx_alerts.attempts is 'Notification attempts so far.';
comment on column cx_alerts.last_attempt_at is 'When the last notification attempt was made, UTC; null before the first.';
comment on column cx_alerts.sent_at is 'When the webhook accepted the notification, UTC; null while pending.';
comment on column cx_alerts.last_error is 'Why the last attempt failed (HTTP status including 3xx, unreachable, no answer within the timeout; never the URL or customer data); null after success.';
