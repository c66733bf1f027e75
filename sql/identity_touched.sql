-- identity_touched: the customers the last identity run changed, for the steps that update only those.
--
-- grain: one row per customer_key
--
-- Published whole by the identity step (cxdata.identity.step) with the identity
-- tables. An incremental run lists every key (old or new) whose records, their
-- content or their identifiers changed, merged and split keys included; a full
-- run lists every key it gave and every key it retired.

comment on table identity_touched is 'The customers whose records, identifiers or keys the last identity run changed (every customer after a full run): what later steps recompute.';
comment on column identity_touched.run_id is 'The identity run.';
comment on column identity_touched.customer_key is 'A customer key touched: current, or retired by a merge or split of that run.';
comment on column identity_touched.mode is 'full: every customer was resolved again; incremental: only the components the changed records touch.';
