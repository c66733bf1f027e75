-- bi_customer_overview: the customer table for BI tools: one row per buyer.
--
-- grain: one row per buyer (dim_customer row of kind buyer)
--
-- Created by cxdata.warehouse.views.create_views after dim_customer and
-- customer_scores are published (Dagster asset bi_views). Friendly names over
-- dim_customer joined to the latest customer_scores; no personal data: the
-- customer is its pseudonymous customer_key, contact details stay in
-- dim_customer_pii behind roles.
--
-- Customers are buyers: dim_customer rows of kind buyer (at least one
-- non-refund order by as_of), so count(*) counts customers. Identity resolution
-- also keeps known contacts (a CRM record, an email or phone, a ticket, but no
-- order) and anonymous visitors (web sessions or touches without an
-- identifier): every resolved person, with customer_kind, is in bi_people.
--
-- example: Customers, revenue and lifetime value by acquisition channel
--   select acquisition_channel, count(*) as customers, sum(total_revenue) as revenue,
--          sum(lifetime_value) as lifetime_value, max(currency) as currency
--   from bi_customer_overview
--   group by acquisition_channel
--   order by customers desc
-- example: The ten most valuable customers and their churn risk
--   select customer_key, segment, lifetime_value, churn_probability, value_at_risk, currency
--   from bi_customer_overview
--   where lifetime_value is not null
--   order by lifetime_value desc, customer_key
--   limit 10

create or replace view bi_customer_overview as
select
    d.customer_key as customer_key,
    d.kind as customer_kind,
    d.journey_stage as journey_stage,
    s.segment as segment,
    d.first_seen_at as first_seen_at,
    d.last_seen_at as last_seen_at,
    cast(d.first_order_at as date) as first_order_date,
    cast(d.last_order_at as date) as last_order_date,
    d.orders_count as orders,
    d.total_revenue as total_revenue,
    d.monetary_value as average_order_value,
    d.recency_days as days_since_last_order,
    d.tenure_days as days_since_first_order,
    d.tickets_count as service_tickets,
    d.open_tickets as open_service_tickets,
    d.median_first_response_hours as median_first_response_hours,
    d.last_csat as last_csat_score,
    d.last_nps_class as last_nps_class,
    d.sessions_count as web_sessions,
    d.web_conversion_rate as web_conversion_rate,
    d.touches_total as marketing_touches,
    d.last_touch_channel as last_touch_channel,
    d.acquisition_channel as acquisition_channel,
    d.referral_source as acquisition_source,
    s.p_alive as probability_active,
    s.expected_purchases as expected_purchases,
    s.clv as lifetime_value,
    s.clv_percentile as lifetime_value_percentile,
    s.churn_probability as churn_probability,
    s.value_at_risk as value_at_risk,
    s.churn_reason_1 as main_churn_reason,
    d.as_of as as_of,
    d.currency as currency
from dim_customer d
left join customer_scores s on s.customer_key = d.customer_key
where d.kind = 'buyer';

comment on view bi_customer_overview is 'Customers for BI: one row per buyer (dim_customer.kind buyer: at least one non-refund order), so count(*) counts customers; every resolved person, known contacts and anonymous visitors included, is in bi_people. Each row has journey stage, segment, order, service, web and marketing figures and the latest lifetime value and churn scores, under friendly names. No personal data. Amounts are in the currency the currency column names. Built on dim_customer and customer_scores.';
comment on column bi_customer_overview.customer_key is 'Pseudonymous resolved customer id (dim_customer.customer_key); joins every other mart.';
comment on column bi_customer_overview.customer_kind is 'Kind of the customer (dim_customer.kind): always buyer in this view; bi_people has the other kinds.';
comment on column bi_customer_overview.journey_stage is 'Journey stage: research, compare, purchase, use_repurchase or lapsed (dim_customer.journey_stage).';
comment on column bi_customer_overview.segment is 'Marketing segment of the latest scoring run; null for a customer the latest scoring run did not score.';
comment on column bi_customer_overview.first_seen_at is 'First activity of any kind (order, ticket, survey, web session, touch), UTC.';
comment on column bi_customer_overview.last_seen_at is 'Latest activity of any kind up to as_of, UTC.';
comment on column bi_customer_overview.first_order_date is 'UTC day of the first non-refund order.';
comment on column bi_customer_overview.last_order_date is 'UTC day of the latest non-refund order.';
comment on column bi_customer_overview.orders is 'Non-refund orders up to as_of.';
comment on column bi_customer_overview.total_revenue is 'Net revenue up to as_of, refunds subtracted, in currency.';
comment on column bi_customer_overview.average_order_value is 'Mean net amount per non-refund order, in currency.';
comment on column bi_customer_overview.days_since_last_order is 'Days from the latest order to as_of.';
comment on column bi_customer_overview.days_since_first_order is 'Days from the first order to as_of (customer age).';
comment on column bi_customer_overview.service_tickets is 'Service tickets opened up to as_of.';
comment on column bi_customer_overview.open_service_tickets is 'Tickets still open at as_of.';
comment on column bi_customer_overview.median_first_response_hours is 'Median hours to the first service response over the customer''s answered tickets.';
comment on column bi_customer_overview.last_csat_score is 'Latest CSAT answer, 1 to 5.';
comment on column bi_customer_overview.last_nps_class is 'Class of the latest NPS answer: promoter, passive or detractor.';
comment on column bi_customer_overview.web_sessions is 'Web sessions started up to as_of.';
comment on column bi_customer_overview.web_conversion_rate is 'Share (0..1) of the customer''s web sessions with a purchase.';
comment on column bi_customer_overview.marketing_touches is 'Marketing touches (sent, open, click, impression) up to as_of.';
comment on column bi_customer_overview.last_touch_channel is 'Channel of the latest marketing touch.';
comment on column bi_customer_overview.acquisition_channel is 'How the customer first arrived: the channel of their earliest web session, marketing touch or order (dim_customer.acquisition_channel); unknown when none is known.';
comment on column bi_customer_overview.acquisition_source is 'Where the customer first came from: utm_source of the first web session, else the referrer host, else direct.';
comment on column bi_customer_overview.probability_active is 'Probability (0..1) that the customer is still active, per the purchase model (customer_scores.p_alive).';
comment on column bi_customer_overview.expected_purchases is 'Expected purchases over the model horizon after the scoring moment.';
comment on column bi_customer_overview.lifetime_value is 'Discounted customer lifetime value over the model horizon, in currency (customer_scores.clv).';
comment on column bi_customer_overview.lifetime_value_percentile is 'Percent of scored customers whose lifetime value is at most this one''s: 100 is the most valuable.';
comment on column bi_customer_overview.churn_probability is 'Probability (0..1) of no order in the churn horizon.';
comment on column bi_customer_overview.value_at_risk is 'Lifetime value expected to be lost: lifetime_value times churn_probability, in currency.';
comment on column bi_customer_overview.main_churn_reason is 'The feature that raises this customer''s churn probability most (customer_scores.churn_reason_1).';
comment on column bi_customer_overview.as_of is 'Moment the customer figures describe, UTC.';
comment on column bi_customer_overview.currency is 'ISO 4217 code of every amount in the row (total_revenue, average_order_value, lifetime_value, value_at_risk): dim_customer.currency, the project setting currency.';
