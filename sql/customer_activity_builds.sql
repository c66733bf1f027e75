-- customer_activity_builds: what the last build of customer_activity read, so the next one builds again only
-- the customers whose rows can have changed.
--
-- grain: one row per build of customer_activity, only the last one kept
--
-- Published whole by the dim_customer step (cxdata.marts.customer_step) in the
-- transaction that writes customer_activity and dim_customer. The next build
-- follows identity from identity_run_id, the fact updates through mart_touched
-- and the move of as_of from this as_of (cxdata.marts.activity_delta); an
-- earlier as_of, another fingerprint or fact set, a fact built whole, an
-- identity run it cannot follow or a missing row makes it build whole.

comment on table customer_activity_builds is 'The last build of customer_activity: its as_of, the identity run and fact tables it read, a fingerprint of the settings, and whether it built every customer or only the touched ones, and why.';
comment on column customer_activity_builds.run_id is 'The run that built it.';
comment on column customer_activity_builds.as_of is 'The as_of every customer_activity row is valid at, UTC.';
comment on column customer_activity_builds.identity_run_id is 'The last identity run (identity_runs) when it was built: its keys are the ones customer_activity carries.';
comment on column customer_activity_builds.fact_tables is 'The fact marts it was built from, comma-separated: another set builds whole.';
comment on column customer_activity_builds.activity_config is 'md5 of the currency, the journey settings and the cxdata version: a change builds whole.';
comment on column customer_activity_builds.mode is 'full: every customer was built; incremental: only the touched customers.';
comment on column customer_activity_builds.mode_reason is 'Why a full build was needed; null for an incremental one.';
comment on column customer_activity_builds.customers_rebuilt is 'Customers built again by an incremental build; null for a full one.';
