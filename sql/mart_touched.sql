-- mart_touched: the customers whose fact rows were built again or removed since customer_activity last read
-- them.
--
-- grain: one row per (mart, run_id, customer_key); one row with a null customer_key for a fact built whole
--
-- Appended by each fact mart's step (cxdata.marts.incremental, cxdata.marts.step)
-- in the transaction that writes the fact: an update lists the customers of
-- every row it replaced, as they were and as they are. The dim_customer step
-- (cxdata.marts.customer_step) builds those customers' customer_activity again
-- (every customer when a fact was built whole) and deletes the rows it followed
-- in its own transaction.

comment on table mart_touched is 'Customers whose fact rows an update built again or removed, not yet followed by customer_activity; a null customer_key means the fact was built whole.';
comment on column mart_touched.mart is 'The fact mart: fct_orders, fct_tickets, fct_surveys, fct_touches or fct_web_sessions.';
comment on column mart_touched.run_id is 'The run whose fact step wrote the row.';
comment on column mart_touched.customer_key is 'A customer whose rows of that fact changed (before or after the update); null: the fact was built whole.';
