-- fct_touches: one row per marketing touch (sent, open, click, impression).
--
-- grain: one row per marketing touch (stg_touches row)
--
-- Built by cxdata.marts.fct_touches from stg_touches and identity resolution's
-- record keys. Only the documentation lives here and is applied on every
-- publish. No personal data: email and device ids stay in the identity tables.

comment on table fct_touches is 'Marketing touches fact: one row per touch (stg_touches) with customer_key, channel, campaign and kind. Primary key: touch_id.';
comment on column fct_touches.touch_id is 'Touch id in the marketing system; primary key.';
comment on column fct_touches.customer_key is 'Resolved customer (dim_customer.customer_key); null when identity resolution could not place the touch.';
comment on column fct_touches.occurred_at is 'When the touch happened, UTC.';
comment on column fct_touches.touch_date is 'UTC calendar day of occurred_at.';
comment on column fct_touches.channel is 'Marketing channel: email, paid_search, social ...';
comment on column fct_touches.campaign is 'Campaign name, when the source gives one.';
comment on column fct_touches.kind is 'Touch kind, lower case: sent, open, click or impression.';
