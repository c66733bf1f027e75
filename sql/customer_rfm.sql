-- customer_rfm: the RFM summary the lifetime-value models are fitted on, one row per buyer at as_of.
--
-- grain: one row per buyer (customer_key) at the latest as_of
--
-- Built by cxdata.clv.step.clv_step with cxdata.clv.rfm.rfm_summary, identical to
-- lifetimes.utils.summary_data_from_transaction_data; refunds are left out. Published
-- on every run, also when no model converged.

comment on table customer_rfm is 'RFM summary per buyer at as_of, as lifetimes defines it (the input of the CLV models). Primary key: customer_key.';
comment on column customer_rfm.customer_key is 'Resolved customer, as in dim_customer.';
comment on column customer_rfm.frequency is 'Repeat purchase periods up to as_of: periods (days or weeks, column period) with a non-refund order after the first one.';
comment on column customer_rfm.recency is 'Periods between the first and the last purchase period.';
comment on column customer_rfm.T is 'Periods between the first purchase period and as_of.';
comment on column customer_rfm.monetary_value is 'Mean amount per repeat purchase period (0 without a repeat purchase), in currency.';
comment on column customer_rfm.period is 'D for days, W for weeks (models.clv.period).';
comment on column customer_rfm.as_of is 'Moment the summary is taken at, UTC.';
comment on column customer_rfm.currency is 'ISO 4217 code of monetary_value: the project setting currency (amounts are not converted).';
