-- dim_customer_pii: the contact details of each resolved customer. Personal data.
--
-- grain: one row per resolved customer_key with contact details
--
-- Built by cxdata.marts.pii.dim_customer_pii from customer_identity (best
-- linked email and phone: seen on most records, then most recently, then the
-- smallest value) and stg_customers placed by identity_record_keys (per column,
-- the newest CRM record that has a value). Together with customer_identity and
-- the stg_/quarantine_ tables it is the only place personal data lives; on
-- PostgreSQL `cxdata grant` gives it to no role (see docs/data_dictionary.md).

comment on table dim_customer_pii is 'Personal data: one row per resolved customer_key with the best email and phone (normalised by identity resolution) and the CRM first name, last name and postcode. Readable only by the warehouse owner; join to the other marts on customer_key. Primary key: customer_key.';
comment on column dim_customer_pii.customer_key is 'Resolved customer (dim_customer.customer_key); primary key.';
comment on column dim_customer_pii.email is 'Best email of the customer, trimmed and lower-cased: the linked email seen on most records. Personal data; null when none.';
comment on column dim_customer_pii.phone is 'Best phone of the customer in E.164 form (+34600111222): the linked phone seen on most records; shared (household) phones are left out. Personal data; null when none.';
comment on column dim_customer_pii.first_name is 'Given name from the newest CRM record of the customer that has one, whitespace tidied. Personal data.';
comment on column dim_customer_pii.last_name is 'Family name from the newest CRM record of the customer that has one, whitespace tidied. Personal data.';
comment on column dim_customer_pii.postcode is 'Postal code from the newest CRM record of the customer that has one, upper-cased with single spaces. Personal data.';
comment on column dim_customer_pii.country is 'Country from the newest CRM record of the customer that has one, upper-cased (a code such as ES, or a name, as the CRM holds it). Personal data.';
