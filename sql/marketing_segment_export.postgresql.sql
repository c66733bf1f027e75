-- marketing_segment_export on PostgreSQL: sha256() takes bytea, so hash the UTF-8 bytes and hex-encode.

create or replace view marketing_segment_export as
select
    m.segment as segment,
    m.customer_key as customer_key,
    m.as_of as as_of,
    encode(sha256(convert_to(p.email, 'UTF8')), 'hex') as email_sha256,
    encode(sha256(convert_to(p.phone, 'UTF8')), 'hex') as phone_sha256,
    s.clv as lifetime_value,
    s.clv_percentile as lifetime_value_percentile,
    s.churn_probability as churn_probability,
    s.value_at_risk as value_at_risk,
    s.p_alive as probability_active,
    cast(:currency as text) as currency
from segment_members m
left join customer_scores s on s.customer_key = m.customer_key and s.as_of = m.as_of
left join dim_customer_pii p on p.customer_key = m.customer_key;
