-- customer_scores_history: the scores of every scoring moment, kept across runs.
--
-- grain: one row per scored customer and scoring moment (customer_key, as_of)
--
-- Same columns as customer_scores; one row per customer and as_of. A rerun at
-- an as_of already held replaces that as_of's rows (cxdata.churn.step.value_step,
-- in the same transaction as customer_scores), so reruns add no copies.

comment on table customer_scores_history is 'The customer scores of every scoring moment (see customer_scores); a rerun at the same as_of replaces that as_of''s rows. Primary key: (customer_key, as_of).';
comment on column customer_scores_history.customer_key is 'Resolved customer (dim_customer.customer_key); with as_of the primary key.';
comment on column customer_scores_history.as_of is 'Moment the scores are computed at, UTC; orders after it are ignored.';
comment on column customer_scores_history.model_run_id is 'The model run that produced the scores (model_runs.model_run_id).';
comment on column customer_scores_history.frequency is 'Repeat purchase periods up to as_of: periods (days or weeks, model_runs.period) with a non-refund order after the first one.';
comment on column customer_scores_history.recency is 'Periods between the first and the last purchase period.';
comment on column customer_scores_history.T is 'Periods between the first purchase period and as_of.';
comment on column customer_scores_history.monetary_value is 'Mean amount per repeat purchase period (0 without a repeat purchase), in currency.';
comment on column customer_scores_history.p_alive is 'Probability that the customer is still active at as_of, per the purchase model; 0 to 1.';
comment on column customer_scores_history.expected_purchases is 'Expected purchases (purchase periods) over the next horizon_days after as_of.';
comment on column customer_scores_history.expected_spend is 'Expected amount per purchase, in currency: Gamma-Gamma conditional expected spend; the population mean for customers without a repeat purchase.';
comment on column customer_scores_history.clv is 'Customer lifetime value over horizon_days, in currency: expected purchases per monthly step times expected_spend, discounted to as_of at annual_discount_rate.';
comment on column customer_scores_history.clv_percentile is 'Share of scored customers, in percent, whose clv is at most this one''s: 100 is the most valuable.';

-- Churn columns: filled in when churn scored that moment, null when it failed.
comment on column customer_scores_history.churn_model_run_id is 'The churn model run that produced the churn columns (model_runs.model_run_id, kind churn); null for runs without churn.';
comment on column customer_scores_history.churn_probability is 'Probability of no kept order in the churn horizon after as_of; 0 to 1.';
comment on column customer_scores_history.churn_percentile is 'Share of the run''s scored customers, in percent, whose churn_probability is at most this one''s.';
comment on column customer_scores_history.value_at_risk is 'clv times churn_probability, in currency.';
comment on column customer_scores_history.churn_reason_1 is 'The feature that raises the churn probability most against a typical customer who stayed (the retained training customers'' median), in words with the customer''s own value ("no order for 143 days"; see customer_scores.churn_reason_1).';
comment on column customer_scores_history.churn_reason_2 is 'Second churn reason (see churn_reason_1).';
comment on column customer_scores_history.churn_reason_3 is 'Third churn reason (see churn_reason_1).';
comment on column customer_scores_history.segment is 'Marketing segment of the customer in that run (models.churn.segments).';
comment on column customer_scores_history.currency is 'ISO 4217 code of monetary_value, expected_spend, clv and value_at_risk: the project setting currency (amounts are not converted).';
