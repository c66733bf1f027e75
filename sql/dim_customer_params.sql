-- dim_customer_params: the moment and the numbers the dim_customer view projects customer_activity with.
--
-- grain: one row per dim_customer step, only the last one kept
--
-- Published whole by the dim_customer step (cxdata.marts.customer_step) in the
-- transaction that updates customer_activity. The journey numbers are data here,
-- not literals in the view's SQL: a changed setting takes effect with the next
-- run's row. lapsed_before and purchase_window_start are as_of less the days,
-- computed once in exact days of 24 hours (no time zone's daylight saving).

comment on table dim_customer_params is 'One row: the as_of and journey-stage numbers that the dim_customer view projects customer_activity with.';
comment on column dim_customer_params.as_of is 'The moment dim_customer describes, UTC: the as_of of the last dim_customer step.';
comment on column dim_customer_params.lapsed_after_days is 'journey.lapsed_after_days: a customer whose last order (a non-buyer: last activity) is older than this is lapsed.';
comment on column dim_customer_params.purchase_window_days is 'journey.purchase_window_days: one order older than this makes a buyer use_repurchase rather than purchase.';
comment on column dim_customer_params.compare_min_pages is 'journey.compare_min_pages: comparison page views that make a non-buyer compare.';
comment on column dim_customer_params.lapsed_before is 'as_of less lapsed_after_days, UTC: last order (or activity) before this is lapsed.';
comment on column dim_customer_params.purchase_window_start is 'as_of less purchase_window_days, UTC: a single order before this is use_repurchase.';
