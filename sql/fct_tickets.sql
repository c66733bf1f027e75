-- fct_tickets: one row per service ticket with first-response and resolution times.
--
-- grain: one row per service ticket (stg_tickets row)
--
-- Built by cxdata.marts.fct_tickets from stg_tickets and identity resolution's
-- record keys. Only the documentation lives here and is applied on every
-- publish. No personal data. Timestamps are timestamptz in UTC.

comment on table fct_tickets is 'Service tickets fact: one row per ticket (stg_tickets) with customer_key, hours to first response and to resolution, and whether it is still open. Primary key: ticket_id.';
comment on column fct_tickets.ticket_id is 'Ticket id in the service system; primary key.';
comment on column fct_tickets.customer_key is 'Resolved customer (dim_customer.customer_key); null when identity resolution could not place the ticket.';
comment on column fct_tickets.opened_at is 'When the ticket was opened, UTC.';
comment on column fct_tickets.opened_date is 'UTC calendar day of opened_at.';
comment on column fct_tickets.first_response_at is 'First agent response, UTC; null when nobody has answered yet.';
comment on column fct_tickets.resolved_at is 'When the ticket was resolved, UTC; null while it is open.';
comment on column fct_tickets.channel is 'Service channel: phone, chat, email ...';
comment on column fct_tickets.category is 'Ticket category as the service system gives it.';
comment on column fct_tickets.first_response_hours is 'Hours from opened_at to first_response_at; null without a response. Negative values mean the source clocks disagree.';
comment on column fct_tickets.resolution_hours is 'Hours from opened_at to resolved_at; null while open.';
comment on column fct_tickets.is_open is 'True when the ticket has no resolved_at (open when the data was loaded).';
