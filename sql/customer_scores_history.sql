-- customer_scores_history: every CLV run's scores, appended run after run.
--
-- Same columns as customer_scores; one row per customer and model run.

comment on table customer_scores_history is 'Every CLV run''s customer scores (see customer_scores), appended run after run. Primary key: (customer_key, model_run_id).';
comment on column customer_scores_history.customer_key is 'Resolved customer (dim_customer.customer_key); with model_run_id the primary key.';
comment on column customer_scores_history.as_of is 'Moment the scores are computed at, UTC; orders after it are ignored.';
comment on column customer_scores_history.model_run_id is 'The model run that produced the scores (model_runs.model_run_id).';
comment on column customer_scores_history.frequency is 'Repeat purchase periods up to as_of: periods (days or weeks, model_runs.period) with a non-refund order after the first one.';
comment on column customer_scores_history.recency is 'Periods between the first and the last purchase period.';
comment on column customer_scores_history.T is 'Periods between the first purchase period and as_of.';
comment on column customer_scores_history.monetary_value is 'Mean amount per repeat purchase period (0 without a repeat purchase), order currency.';
comment on column customer_scores_history.p_alive is 'Probability that the customer is still active at as_of, per the purchase model; 0 to 1.';
comment on column customer_scores_history.expected_purchases is 'Expected purchases (purchase periods) over the next horizon_days after as_of.';
comment on column customer_scores_history.expected_spend is 'Expected amount per purchase: Gamma-Gamma conditional expected spend; the population mean for customers without a repeat purchase.';
comment on column customer_scores_history.clv is 'Customer lifetime value over horizon_days: expected purchases per monthly step times expected_spend, discounted to as_of at annual_discount_rate.';
comment on column customer_scores_history.clv_percentile is 'Share of scored customers, in percent, whose clv is at most this one''s: 100 is the most valuable.';
