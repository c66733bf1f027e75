-- customer_scores: the latest lifetime-value scores, one row per customer with at least one kept order.
--
-- grain: one row per scored customer (customer_key) at the latest as_of
--
-- Built by cxdata.churn.step.value_step (CLV, then churn merged in) and replaced
-- once per run with every column, in one transaction with its history rows,
-- the segments and the model runs; each scoring moment's rows
-- are also kept in customer_scores_history. Customers without a non-refund
-- order up to as_of have no row (a BTYD model starts at the first purchase).

comment on table customer_scores is 'Lifetime-value scores per customer as of the last CLV run (BTYD purchase model + Gamma-Gamma spend, chosen on a time holdout). Primary key: customer_key. Join model_runs on model_run_id for the model, parameters and holdout metrics.';
comment on column customer_scores.customer_key is 'Resolved customer (dim_customer.customer_key); primary key.';
comment on column customer_scores.as_of is 'Moment the scores are computed at, UTC; orders after it are ignored.';
comment on column customer_scores.model_run_id is 'The model run that produced the scores (model_runs.model_run_id).';
comment on column customer_scores.frequency is 'Repeat purchase periods up to as_of: periods (days or weeks, model_runs.period) with a non-refund order after the first one.';
comment on column customer_scores.recency is 'Periods between the first and the last purchase period.';
comment on column customer_scores.T is 'Periods between the first purchase period and as_of.';
comment on column customer_scores.monetary_value is 'Mean amount per repeat purchase period (0 without a repeat purchase), in currency.';
comment on column customer_scores.p_alive is 'Probability that the customer is still active at as_of, per the purchase model; 0 to 1.';
comment on column customer_scores.expected_purchases is 'Expected purchases (purchase periods) over the next horizon_days after as_of.';
comment on column customer_scores.expected_spend is 'Expected amount per purchase, in currency: Gamma-Gamma conditional expected spend; the population mean for customers without a repeat purchase.';
comment on column customer_scores.clv is 'Customer lifetime value over horizon_days, in currency: expected purchases per monthly step times expected_spend, discounted to as_of at annual_discount_rate.';
comment on column customer_scores.clv_percentile is 'Share of scored customers, in percent, whose clv is at most this one''s: 100 is the most valuable.';

-- Churn columns: merged in by the churn half of value_step; null when churn failed or did not run.
comment on column customer_scores.churn_model_run_id is 'The churn model run that produced the churn columns (model_runs.model_run_id, kind churn).';
comment on column customer_scores.churn_probability is 'Probability of no kept order in the churn horizon (models.churn.horizon_days) after as_of: calibrated classifier (model_runs.model); 0 to 1.';
comment on column customer_scores.churn_percentile is 'Share of scored customers, in percent, whose churn_probability is at most this one''s: 100 is the most at risk.';
comment on column customer_scores.value_at_risk is 'clv times churn_probability: the lifetime value expected to be lost, in currency.';
comment on column customer_scores.churn_reason_1 is 'The feature that raises this customer''s churn probability most against a typical customer who stayed (each feature set to its median over the retained training customers, one at a time, on the model), in words with the customer''s own value: "no order for 143 days", "usual gap between orders 40 days", "2 open support tickets"; a feature without words reads "<feature> high|low (value)"; null when none raises it.';
comment on column customer_scores.churn_reason_2 is 'Second churn reason (see churn_reason_1).';
comment on column customer_scores.churn_reason_3 is 'Third churn reason (see churn_reason_1).';
comment on column customer_scores.segment is 'Marketing segment: the first rule of models.churn.segments the customer matches (defaults: champions, loyal, promising_new, high_value_at_risk, needs_attention, hibernating, lost).';
comment on column customer_scores.currency is 'ISO 4217 code of monetary_value, expected_spend, clv and value_at_risk: the project setting currency (amounts are not converted).';
