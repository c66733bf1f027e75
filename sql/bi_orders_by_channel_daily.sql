-- bi_orders_by_channel_daily: orders and revenue by UTC day and the order's own sales channel, for BI.
--
-- grain: one row per UTC day and order_channel
--
-- Created by cxdata.warehouse.views.create_views after fct_orders and
-- cx_kpis_daily are published. Only order metrics: the channel is the order's
-- (fct_orders.channel, unknown without one), which tickets, surveys and
-- sessions do not have, so they are in their own views. Dense like
-- cx_kpis_daily: every day of cx_kpis_daily (the project's first to last day)
-- times every order channel, counts and revenue 0 on a day without an order of
-- the channel, repeat_customer_share null without an ordering customer.
-- Aggregates only, no personal data. :currency is the project's currency.
--
-- example: Revenue by month and order channel
--   select cast(date_trunc('month', day) as date) as month, order_channel,
--          sum(orders) as orders, sum(revenue) as revenue, max(currency) as currency
--   from bi_orders_by_channel_daily
--   group by 1, 2
--   order by 1, 2
-- example: Share of each channel's first orders over the whole history
--   select order_channel, sum(new_customers) as new_customers,
--          sum(new_customers) / cast(nullif(sum(sum(new_customers)) over (), 0) as double precision) as share
--   from bi_orders_by_channel_daily
--   group by order_channel
--   order by new_customers desc

create or replace view bi_orders_by_channel_daily as
with
days as (
    select k.date as day from cx_kpis_daily k where k.dimension = 'total'
),
orders as (
    select
        o.order_date as day,
        coalesce(o.channel, 'unknown') as order_channel,
        o.customer_key as customer_key,
        o.net_amount as net_amount,
        o.is_refund as is_refund,
        o.is_first_order as is_first_order
    from fct_orders o
),
channels as (
    select distinct order_channel from orders
),
daily as (
    select
        day,
        order_channel,
        count(case when not is_refund then 1 end) as orders,
        sum(net_amount) as revenue,
        count(distinct case when is_first_order then customer_key end) as new_customers,
        count(distinct case when not is_refund then customer_key end) as buyers
    from orders
    group by day, order_channel
)
select
    d.day as day,
    c.order_channel as order_channel,
    coalesce(x.orders, 0) as orders,
    coalesce(x.revenue, 0) as revenue,
    cast(:currency as text) as currency,
    coalesce(x.new_customers, 0) as new_customers,
    coalesce(x.buyers - x.new_customers, 0) as repeat_customers,
    case when x.buyers > 0 then 1 - cast(x.new_customers as double precision) / x.buyers end
        as repeat_customer_share
from days d
cross join channels c
left join daily x on x.day = d.day and x.order_channel = c.order_channel;

comment on view bi_orders_by_channel_daily is 'Orders, revenue and new and repeat customers by UTC day and the order''s own sales channel (fct_orders.channel). One row per day of cx_kpis_daily and order channel: 0 on a day without an order of the channel. Aggregates over fct_orders; no personal data. For order metrics next to CSAT, NPS or web metrics of the same customers use bi_kpis_daily.';
comment on column bi_orders_by_channel_daily.day is 'UTC calendar day the orders were placed.';
comment on column bi_orders_by_channel_daily.order_channel is 'Sales channel of the order (web, store, phone ...; fct_orders.channel), unknown when the source gives none.';
comment on column bi_orders_by_channel_daily.orders is 'Non-refund orders placed; 0 without any.';
comment on column bi_orders_by_channel_daily.revenue is 'Sum of net_amount (refunds subtract), in currency; 0 without orders.';
comment on column bi_orders_by_channel_daily.currency is 'ISO 4217 code of revenue: the project setting currency.';
comment on column bi_orders_by_channel_daily.new_customers is 'Distinct customers whose first non-refund order this is; 0 without any.';
comment on column bi_orders_by_channel_daily.repeat_customers is 'Distinct customers with a non-refund order of the channel that is not their first that day; 0 without any.';
comment on column bi_orders_by_channel_daily.repeat_customer_share is 'Share (0..1) of the channel''s ordering customers who are repeat customers; null without ordering customers.';
