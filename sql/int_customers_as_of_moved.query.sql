-- int_customers_as_of_moved: the customers whose customer_activity row changes when as_of moves from :after
-- to a later :as_of while no fact changes (cxdata.marts.activity_delta), one statement per table.
--
-- customer_activity counts a fact row once its time is at or before as_of, a ticket as open until its
-- resolved_at, a first response from its first_response_at and a contact from its first_seen
-- (cxdata.marts.activity.AS_OF_STAMPS lists these times). A row is described differently at the two moments
-- only when one of its times falls in (:after, :as_of]: these statements list the customers of such rows.
-- They may list a few more (a ticket resolved in the window but opened after it), never fewer.
select distinct customer_key from fct_orders
where customer_key is not null and ordered_at > :after and ordered_at <= :as_of;

select distinct customer_key from fct_tickets
where customer_key is not null
  and ((opened_at > :after and opened_at <= :as_of)
    or (resolved_at > :after and resolved_at <= :as_of)
    or (first_response_at > :after and first_response_at <= :as_of));

select distinct customer_key from fct_surveys
where customer_key is not null and responded_at > :after and responded_at <= :as_of;

select distinct customer_key from fct_web_sessions
where customer_key is not null and started_at > :after and started_at <= :as_of;

select distinct customer_key from fct_touches
where customer_key is not null and occurred_at > :after and occurred_at <= :as_of;

-- a contact: an identifier of the customer's own (status linked) of the kinds that make a known contact
select distinct customer_key from customer_identity
where customer_key is not null and status = :linked and identifier_type in (:customer_ref, :email, :phone)
  and first_seen > :after and first_seen <= :as_of;
