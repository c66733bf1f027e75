-- dim_customer on DuckDB: customer_activity projected at the as_of of dim_customer_params with the rules of the
-- header of dim_customer.sql with the numbers of that one row (cxdata.marts.customer.project is the same
-- projection in polars; tests/marts/test_activity.py checks they agree). Days are exact: microseconds / 86400e6.

create or replace view dim_customer as
select
    a.customer_key as customer_key,
    a.kind as kind,
    a.first_seen_at as first_seen_at,
    a.last_seen_at as last_seen_at,
    a.first_order_at as first_order_at,
    a.last_order_at as last_order_at,
    a.orders_count as orders_count,
    case when a.orders_count > 1 then a.orders_count - 1 when a.orders_count is not null then cast(0 as bigint) end
        as frequency,
    (epoch_us(p.as_of) - epoch_us(a.last_order_at)) / 86400000000.0 as recency_days,
    (epoch_us(p.as_of) - epoch_us(a.first_order_at)) / 86400000000.0 as tenure_days,
    a.monetary_value as monetary_value,
    a.total_revenue as total_revenue,
    a.currency as currency,
    a.tickets_count as tickets_count,
    a.open_tickets as open_tickets,
    a.median_first_response_hours as median_first_response_hours,
    a.last_csat as last_csat,
    a.last_nps_class as last_nps_class,
    a.sessions_count as sessions_count,
    a.pages_per_session as pages_per_session,
    a.time_on_site_seconds as time_on_site_seconds,
    a.last_visit_at as last_visit_at,
    a.web_conversion_rate as web_conversion_rate,
    a.compare_pages as compare_pages,
    a.added_to_cart as added_to_cart,
    a.touches_total as touches_total,
    a.touch_channels as touch_channels,
    a.last_touch_channel as last_touch_channel,
    a.referral_source as referral_source,
    a.acquisition_channel as acquisition_channel,
    case
        when coalesce(
            case when a.orders_count > 0 then a.last_order_at < p.lapsed_before
                else a.last_seen_at < p.lapsed_before end,
            false
        ) then 'lapsed'
        when a.orders_count > 0 and (a.orders_count >= 2 or a.first_order_at < p.purchase_window_start)
            then 'use_repurchase'
        when a.orders_count > 0 then 'purchase'
        when a.compare_pages >= p.compare_min_pages or a.added_to_cart then 'compare'
        else 'research'
    end as journey_stage,
    p.as_of as as_of
from customer_activity a
cross join dim_customer_params p;
