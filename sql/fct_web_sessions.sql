-- fct_web_sessions: web events cut into sessions by the inactivity rule.
--
-- grain: one row per web session (an anonymous_id's events without a gap over the timeout)
--
-- Built by cxdata.marts.fct_web_sessions from stg_web_events and identity
-- resolution's record keys. A session is a run of one anonymous_id's events with
-- no gap longer than the timeout (journey.session_timeout_minutes, default 30
-- minutes); a gap of exactly the timeout stays in the session. Only the
-- documentation lives here and is applied on every publish. Timestamps are UTC.
--
-- Cookie ids and raw URLs are personal data: anonymous_id, session_id (which
-- embeds it), landing_page and referrer are readable by the warehouse owner
-- only; the BI role reads every other column, landing_path and referrer_host
-- among them (cxdata.warehouse.roles).

comment on table fct_web_sessions is 'Web sessions fact: one row per session of one anonymous_id (no gap over the inactivity timeout, default 30 minutes), with its customer, duration, pages, landing page, UTM tags, channel and whether it converted or showed comparing. Primary key: session_id.';
comment on column fct_web_sessions.session_id is 'Session id: anonymous_id, a dash, and the first event''s time in epoch microseconds; stable across rebuilds while that first event is unchanged. Holds the cookie id, so owner only.';
comment on column fct_web_sessions.anonymous_id is 'Cookie or device id whose events form the session. Personal data: owner only.';
comment on column fct_web_sessions.customer_key is 'Resolved customer of the session: the customer_key of its last event identity resolution placed (a mid-session login names the whole session); null when none was placed.';
comment on column fct_web_sessions.started_at is 'Time of the session''s first event, UTC.';
comment on column fct_web_sessions.ended_at is 'Time of the session''s last event, UTC.';
comment on column fct_web_sessions.session_date is 'UTC calendar day of started_at.';
comment on column fct_web_sessions.duration_seconds is 'Seconds from the first to the last event; 0 for a single-event session.';
comment on column fct_web_sessions.events is 'Number of events in the session.';
comment on column fct_web_sessions.page_views is 'Number of page_view events in the session.';
comment on column fct_web_sessions.landing_page is 'First page_path of the session (its first event with a page), query string included. Its query string can carry personal data: owner only.';
comment on column fct_web_sessions.landing_path is 'landing_page without its query string and fragment: the landing page as BI reads it.';
comment on column fct_web_sessions.utm_source is 'utm_source of the session''s first event.';
comment on column fct_web_sessions.utm_medium is 'utm_medium of the session''s first event.';
comment on column fct_web_sessions.utm_campaign is 'utm_campaign of the session''s first event.';
comment on column fct_web_sessions.referrer is 'Referrer of the session''s first event, the raw URL. Can carry personal data: owner only.';
comment on column fct_web_sessions.referrer_host is 'Host of referrer in lower case, without a leading www. (user and password dropped); null without a referrer or when it names no host.';
comment on column fct_web_sessions.channel is 'Acquisition channel: utm_medium (lower case) when present, else referral when the first event has a referrer, else direct. The channel of web metrics in cx_kpis_daily.';
comment on column fct_web_sessions.converted is 'True when the session holds a purchase event.';
comment on column fct_web_sessions.compare_pages is 'Page views of product, pricing or comparison pages (paths /product, /products, /pricing, /price, /prices, /plans, /compare, /comparison and below).';
comment on column fct_web_sessions.added_to_cart is 'True when the session holds an add_to_cart event or a cart page view (/cart, /basket, /bag).';
comment on column fct_web_sessions.is_compare is 'True when the visitor compared: compare_pages > 0 or added_to_cart.';
