-- dim_customer: one row per resolved customer with RFM, service, web and marketing features and journey stage.
--
-- grain: one row per resolved customer_key (every person identity resolution keyed: buyers, known contacts and anonymous visitors)
--
-- Built by cxdata.marts.dim_customer from the fct_ marts and identity
-- resolution's record keys, counting only records up to as_of. No personal
-- data: names, emails and phones stay in the identity tables. A view
-- (dim_customer.<dialect>.sql): customer_activity (the same columns bar
-- frequency, recency_days, tenure_days, journey_stage and as_of) projected at
-- the as_of of the one row of dim_customer_params, which also holds the journey
-- numbers. A daily run updates customer_activity
-- only for the customers whose aggregates can have changed, and the projection
-- follows for everyone without republishing 1.4M rows.
--
-- Journey stage (rules and numbers in the project config, journey: ...), the
-- first rule that matches wins:
--   1. lapsed          a buyer whose last order is more than lapsed_after_days
--                      (default 180) before as_of; a non-buyer whose last
--                      activity (last_seen_at) is.
--   2. use_repurchase  a buyer with two or more orders, or with one order placed
--                      more than purchase_window_days (default 30) ago.
--   3. purchase        exactly one order, placed in the last purchase_window_days.
--   4. compare         no order, but at least compare_min_pages (default 3) views
--                      of product/pricing/comparison pages, or a cart.
--   5. research        no order otherwise: web visits, touches or a CRM record only.
-- Orders are non-refund orders (fct_orders.is_refund false).
--
-- Kind: identity resolution keys every person a record points to, so most
-- rows are not customers. kind tells them apart, as of as_of:
--   buyer              at least one non-refund order;
--   known_contact      no order, but a CRM record (stg_customers), a
--                      customer_ref, email or phone that identity resolution
--                      linked to this customer alone (customer_identity status
--                      linked, first seen by as_of), or a service ticket or
--                      survey answer;
--   anonymous_visitor  everyone else: web sessions and marketing touches that
--                      carry no identifier.
-- Customer counts mean buyers (bi_customer_overview holds buyers only).
--
-- Acquisition channel: the channel of the customer's earliest web session (its
-- session channel: UTM medium, else referral, else direct), marketing touch (its
-- channel) or order (its sales channel), whichever came first; on a tie the
-- touch, then the session, then the order. unknown when none of them is known.
--
-- example: Customers by journey stage and kind
--   select journey_stage, kind, count(*) as customers
--   from dim_customer
--   group by journey_stage, kind
--   order by journey_stage, kind

comment on view dim_customer is 'Customers: one row per resolved customer_key, with kind (buyer, known_contact, anonymous_visitor: count buyers as customers), acquisition channel, first/last activity, RFM, service, web and marketing features and journey stage (research, compare, purchase, use_repurchase, lapsed; rules in the header of sql/dim_customer.sql), all computed from records up to as_of. Primary key: customer_key.';
comment on column dim_customer.customer_key is 'Stable resolved customer id from identity resolution; primary key.';
comment on column dim_customer.kind is 'buyer (at least one non-refund order by as_of), known_contact (no order, but a CRM record, a customer_ref, email or phone of their own, or a service ticket or survey) or anonymous_visitor (only web sessions or touches without an identifier); rules in the header of sql/dim_customer.sql.';
comment on column dim_customer.first_seen_at is 'Earliest order, ticket, survey, web session or touch of the customer up to as_of, UTC; null when only a CRM record exists.';
comment on column dim_customer.last_seen_at is 'Latest order, ticket, survey, web session start or touch up to as_of, UTC.';
comment on column dim_customer.first_order_at is 'First non-refund order, UTC; null for non-buyers.';
comment on column dim_customer.last_order_at is 'Last non-refund order up to as_of, UTC; null for non-buyers.';
comment on column dim_customer.orders_count is 'Number of non-refund orders up to as_of; 0 for non-buyers, null when the project has no orders.';
comment on column dim_customer.frequency is 'RFM frequency: repeat orders, orders_count - 1 (0 for one order or none), the BTYD convention.';
comment on column dim_customer.recency_days is 'RFM recency: days (fractional) from the last order to as_of; null for non-buyers.';
comment on column dim_customer.tenure_days is 'Customer age: days (fractional) from the first order to as_of; null for non-buyers.';
comment on column dim_customer.monetary_value is 'RFM monetary: mean net_amount per non-refund order, in currency; null for non-buyers.';
comment on column dim_customer.total_revenue is 'Sum of net_amount of all the customer''s orders up to as_of, refunds subtracted, in currency; 0 without orders, null when the project has no orders.';
comment on column dim_customer.currency is 'ISO 4217 code of monetary_value and total_revenue: the project setting currency (amounts are not converted).';
comment on column dim_customer.tickets_count is 'Service tickets opened up to as_of; 0 without any, null when the project has no tickets.';
comment on column dim_customer.open_tickets is 'Tickets opened up to as_of and not resolved by as_of; 0 without any, null when the project has no tickets.';
comment on column dim_customer.median_first_response_hours is 'Median hours to first response over the customer''s tickets answered by as_of.';
comment on column dim_customer.last_csat is 'Score (1-5) of the customer''s latest CSAT answer up to as_of.';
comment on column dim_customer.last_nps_class is 'NPS class (promoter, passive, detractor) of the customer''s latest NPS answer up to as_of.';
comment on column dim_customer.sessions_count is 'Web sessions started up to as_of; 0 without any, null when the project has no web events.';
comment on column dim_customer.pages_per_session is 'Mean page views per web session.';
comment on column dim_customer.time_on_site_seconds is 'Total seconds on site: sum of session durations.';
comment on column dim_customer.last_visit_at is 'End of the latest web session started up to as_of, UTC.';
comment on column dim_customer.web_conversion_rate is 'Share (0..1) of the customer''s web sessions with a purchase.';
comment on column dim_customer.compare_pages is 'Product, pricing and comparison page views over all sessions (the compare stage counts these); 0 without any, null when the project has no web events.';
comment on column dim_customer.added_to_cart is 'True when any session added to a cart or viewed the cart; null when the project has no web events.';
comment on column dim_customer.touches_total is 'Marketing touches (sent, open, click, impression) up to as_of; 0 without any, null when the project has no touches.';
comment on column dim_customer.touch_channels is 'Touches per channel as text, sorted by channel: e.g. ''email:12, social:3''; null without touches.';
comment on column dim_customer.last_touch_channel is 'Channel of the latest touch up to as_of.';
comment on column dim_customer.referral_source is 'Where the customer first came from: utm_source of the first web session, else the host of its referrer (without www. and any user:password@; referral when the referrer names no host), else direct; null without web sessions.';
comment on column dim_customer.acquisition_channel is 'How the customer first arrived: the channel of their earliest web session (session channel), marketing touch (touch channel) or order (sales channel), the touch first on a tie; unknown when none of them is known.';
comment on column dim_customer.journey_stage is 'Journey stage: research, compare, purchase, use_repurchase or lapsed (rules in the header of sql/dim_customer.sql and JourneyConfig).';
comment on column dim_customer.as_of is 'Moment the features describe, UTC; later records are ignored.';
