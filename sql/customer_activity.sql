-- customer_activity: per customer, what their fact rows add up to by as_of, without what follows from as_of
-- alone: the columns of dim_customer except frequency, recency_days, tenure_days, journey_stage and as_of,
-- which the dim_customer view projects from these (sql/dim_customer.<dialect>.sql).
--
-- grain: one row per resolved customer_key (the customers of identity_record_keys)
--
-- Built by cxdata.marts.activity.customer_activity in the dim_customer step
-- (cxdata.marts.customer_step), with the rules of the header of
-- sql/dim_customer.sql. as_of reaches these columns only through the facts' own
-- times: a row counts once its time is at or before as_of, a ticket is open until
-- its resolved_at, a first response counts from its first_response_at, a contact
-- from its first_seen. So a daily run builds again only the customers identity
-- touched, those whose fact rows an update replaced (mart_touched) and those with
-- one of these times between the last build's as_of and this one's
-- (sql/int_customers_as_of_moved.query.sql), and replaces their rows by
-- customer_key; customer_activity_builds says what it read. Every row is valid
-- at the as_of of customer_activity_builds, built then or before.

comment on table customer_activity is 'Per customer, the aggregates of their facts up to the as_of of customer_activity_builds (counts, sums, first/last times, service, web and touch features, kind, acquisition channel): dim_customer without what follows from as_of alone. Updated for the touched customers only. Primary key: customer_key.';
comment on column customer_activity.customer_key is 'Stable resolved customer id from identity resolution; primary key (the key a daily run replaces rows by).';
comment on column customer_activity.kind is 'buyer, known_contact or anonymous_visitor by that as_of (rules in the header of sql/dim_customer.sql).';
comment on column customer_activity.first_seen_at is 'Earliest order, ticket, survey, web session or touch of the customer up to the as_of of customer_activity_builds, UTC; null when only a CRM record exists.';
comment on column customer_activity.last_seen_at is 'Latest order, ticket, survey, web session start or touch up to the as_of of customer_activity_builds, UTC.';
comment on column customer_activity.first_order_at is 'First non-refund order, UTC; null for non-buyers.';
comment on column customer_activity.last_order_at is 'Last non-refund order up to the as_of of customer_activity_builds, UTC; null for non-buyers.';
comment on column customer_activity.orders_count is 'Number of non-refund orders up to the as_of of customer_activity_builds; 0 for non-buyers, null when the project has no orders.';
comment on column customer_activity.monetary_value is 'RFM monetary: mean net_amount per non-refund order, in currency; null for non-buyers.';
comment on column customer_activity.total_revenue is 'Sum of net_amount of all the customer''s orders up to the as_of of customer_activity_builds, refunds subtracted, in currency; 0 without orders, null when the project has no orders.';
comment on column customer_activity.currency is 'ISO 4217 code of monetary_value and total_revenue: the project setting currency (amounts are not converted).';
comment on column customer_activity.tickets_count is 'Service tickets opened up to the as_of of customer_activity_builds; 0 without any, null when the project has no tickets.';
comment on column customer_activity.open_tickets is 'Tickets opened up to the as_of of customer_activity_builds and not resolved by that as_of; 0 without any, null when the project has no tickets.';
comment on column customer_activity.median_first_response_hours is 'Median hours to first response over the customer''s tickets answered by that as_of.';
comment on column customer_activity.last_csat is 'Score (1-5) of the customer''s latest CSAT answer up to the as_of of customer_activity_builds.';
comment on column customer_activity.last_nps_class is 'NPS class (promoter, passive, detractor) of the customer''s latest NPS answer up to the as_of of customer_activity_builds.';
comment on column customer_activity.sessions_count is 'Web sessions started up to the as_of of customer_activity_builds; 0 without any, null when the project has no web events.';
comment on column customer_activity.pages_per_session is 'Mean page views per web session.';
comment on column customer_activity.time_on_site_seconds is 'Total seconds on site: sum of session durations.';
comment on column customer_activity.last_visit_at is 'End of the latest web session started up to the as_of of customer_activity_builds, UTC.';
comment on column customer_activity.web_conversion_rate is 'Share (0..1) of the customer''s web sessions with a purchase.';
comment on column customer_activity.compare_pages is 'Product, pricing and comparison page views over all sessions (the compare stage counts these); 0 without any, null when the project has no web events.';
comment on column customer_activity.added_to_cart is 'True when any session added to a cart or viewed the cart; null when the project has no web events.';
comment on column customer_activity.touches_total is 'Marketing touches (sent, open, click, impression) up to the as_of of customer_activity_builds; 0 without any, null when the project has no touches.';
comment on column customer_activity.touch_channels is 'Touches per channel as text, sorted by channel: e.g. ''email:12, social:3''; null without touches.';
comment on column customer_activity.last_touch_channel is 'Channel of the latest touch up to the as_of of customer_activity_builds.';
comment on column customer_activity.referral_source is 'Where the customer first came from: utm_source of the first web session, else the host of its referrer (without www. and any user:password@; referral when the referrer names no host), else direct; null without web sessions.';
comment on column customer_activity.acquisition_channel is 'How the customer first arrived: the channel of their earliest web session (session channel), marketing touch (touch channel) or order (sales channel), the touch first on a tie; unknown when none of them is known.';
