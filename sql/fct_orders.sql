-- fct_orders: one row per order with the resolved customer and its place in the customer's purchase sequence.
--
-- Built by cxdata.marts.fct_orders from stg_orders and identity resolution's
-- record keys. Column types follow the published frame; only the documentation
-- lives here and is applied on every publish. No personal data: email and phone
-- stay in the identity tables. Timestamps are timestamptz in UTC.
--
-- grain: one row per order (stg_orders row)

comment on table fct_orders is 'Orders fact: one row per order (stg_orders) with customer_key from identity resolution, refund flag, net amount and the order''s number in its customer''s sequence of non-refund orders. Primary key: order_id.';
comment on column fct_orders.order_id is 'Order id in the sales system; primary key.';
comment on column fct_orders.customer_key is 'Resolved customer (dim_customer.customer_key); null when identity resolution could not place the order.';
comment on column fct_orders.ordered_at is 'When the order was placed, UTC.';
comment on column fct_orders.order_date is 'UTC calendar day of ordered_at.';
comment on column fct_orders.amount is 'Order value as the source gives it, in currency; negative only for refund rows.';
comment on column fct_orders.net_amount is 'What the order kept, in currency: 0 when its status is refunded/returned/cancelled, else amount (a negative refund row stays negative). Sum it for revenue after refunds.';
comment on column fct_orders.currency is 'ISO 4217 code of amount and net_amount: the order''s own (trimmed, upper-case) when the source gives one, else the project setting currency. Amounts are never converted: the revenue tables sum net_amount under the project currency.';
comment on column fct_orders.channel is 'Sales channel: web, store, phone ...';
comment on column fct_orders.status is 'Order status as the sales system reports it.';
comment on column fct_orders.is_refund is 'True for a refund: a negative amount, or status refunded, returned, cancelled, canceled or chargeback.';
comment on column fct_orders.order_number is 'Position 1..n of this order among its customer''s non-refund orders, by ordered_at then order_id; null for refunds and for orders without customer_key.';
comment on column fct_orders.is_first_order is 'True for the customer''s first non-refund order (order_number = 1); null when order_number is null.';
comment on column fct_orders.is_repeat_order is 'True for a later non-refund order of the customer (order_number > 1); null when order_number is null.';
