"""Small published marts with the columns the BI and marketing views select, for the view and role tests."""

from __future__ import annotations

import datetime as dt

import polars as pl

from cxdata.marts.kpis import SCHEMA as KPIS_SCHEMA

AS_OF = dt.datetime(2025, 6, 30, 23, 59, 59, tzinfo=dt.UTC)
EARLIER = dt.datetime(2025, 3, 31, 23, 59, 59, tzinfo=dt.UTC)
EMAIL = "ana.lopez@example.com"
PHONE = "+34600111222"


def mart_frames() -> dict[str, pl.DataFrame]:
    """Two people (K1 a buyer with contact details, K2 an anonymous visitor), scored and segmented at two moments,
    two days of KPIs and one record of each fact."""
    at = pl.Datetime("us", "UTC")
    return {
        "dim_customer": pl.DataFrame(
            {
                "customer_key": ["K1", "K2"],
                "kind": ["buyer", "anonymous_visitor"],
                "first_seen_at": [dt.datetime(2024, 1, 5, tzinfo=dt.UTC), None],
                "last_seen_at": [dt.datetime(2025, 6, 1, tzinfo=dt.UTC), None],
                "first_order_at": [dt.datetime(2024, 1, 5, 23, 30, tzinfo=dt.UTC), None],
                "last_order_at": [dt.datetime(2025, 6, 1, tzinfo=dt.UTC), None],
                "orders_count": [3, 0],
                "frequency": [2, 0],
                "recency_days": [29.9, None],
                "tenure_days": [541.0, None],
                "monetary_value": [40.0, None],
                "total_revenue": [120.0, 0.0],
                "currency": ["EUR", "EUR"],
                "tickets_count": [1, 0],
                "open_tickets": [0, 0],
                "median_first_response_hours": [2.5, None],
                "last_csat": [4.0, None],
                "last_nps_class": ["promoter", None],
                "sessions_count": [4, 1],
                "pages_per_session": [3.0, 1.0],
                "time_on_site_seconds": [600.0, 10.0],
                "last_visit_at": [dt.datetime(2025, 6, 1, tzinfo=dt.UTC), None],
                "web_conversion_rate": [0.5, 0.0],
                "compare_pages": [2, 0],
                "added_to_cart": [True, False],
                "touches_total": [5, 0],
                "touch_channels": ["email:5", None],
                "last_touch_channel": ["email", None],
                "referral_source": ["google", "direct"],
                "acquisition_channel": ["cpc", "direct"],
                "journey_stage": ["use_repurchase", "research"],
                "as_of": [AS_OF, AS_OF],
            },
            schema_overrides={"last_seen_at": at, "first_seen_at": at, "last_visit_at": at},
        ),
        "customer_scores": pl.DataFrame(
            {
                "customer_key": ["K1"],
                "as_of": [AS_OF],
                "model_run_id": ["m1"],
                "p_alive": [0.9],
                "expected_purchases": [1.5],
                "expected_spend": [41.0],
                "clv": [61.5],
                "clv_percentile": [100.0],
                "churn_probability": [0.2],
                "churn_percentile": [50.0],
                "value_at_risk": [12.3],
                "churn_reason_1": ["days_since_last_order high"],
                "segment": ["champions"],
            }
        ),
        "cx_kpis_daily": pl.DataFrame(
            [
                {
                    **{c: 1 for c in ("csat_responses", "nps_responses", "ces_responses", "tickets_opened")},
                    **{c: 2 for c in ("sessions", "converted_sessions", "orders", "new_customers")},
                    **{c: 0.5 for c in ("csat", "nps", "ces_mean", "median_first_response_hours", "repeat_rate")},
                    **{c: 0.5 for c in ("conversion_rate", "revenue", "referral_share")},
                    "date": day,
                    "dimension": "total",
                    "dimension_value": "all",
                    "median_resolution_hours": 4.0,
                    "repeat_customers": 0,
                    "currency": "EUR",
                }
                for day in (dt.date(2025, 6, 1), dt.date(2025, 6, 2))
            ],
            schema=KPIS_SCHEMA,
        ),
        # one record of each fact on 1 June (the view of its channel shows 0 on the 2nd)
        "fct_orders": pl.DataFrame(
            {
                "order_id": ["o1"],
                "customer_key": ["K1"],
                "order_date": [dt.date(2025, 6, 1)],
                "net_amount": [40.0],
                "channel": ["web"],
                "is_refund": [False],
                "is_first_order": [False],
            }
        ),
        "fct_tickets": pl.DataFrame(
            {
                "ticket_id": ["t1"],
                "customer_key": ["K1"],
                "opened_date": [dt.date(2025, 6, 1)],
                "channel": ["chat"],
                "first_response_hours": [2.5],
                "resolution_hours": [None],
            },
            schema_overrides={"resolution_hours": pl.Float64},
        ),
        "fct_surveys": pl.DataFrame(
            {
                "response_id": ["r1"],
                "customer_key": ["K1"],
                "responded_date": [dt.date(2025, 6, 1)],
                "kind": ["nps"],
                "score": [9.0],
                "is_satisfied": [None],
                "nps_class": ["promoter"],
                "channel": ["chat"],
            },
            schema_overrides={"is_satisfied": pl.Boolean},
        ),
        "fct_web_sessions": pl.DataFrame(
            {
                "session_id": ["ck-1-1"],
                "customer_key": ["K2"],
                "session_date": [dt.date(2025, 6, 1)],
                "channel": ["direct"],
                "converted": [False],
            }
        ),
        "segment_members": pl.DataFrame(
            {
                "segment": ["champions", "lost", "lost"],
                "customer_key": ["K1", "K2", "K1"],
                "as_of": [AS_OF, AS_OF, EARLIER],
                "run_id": ["r2", "r2", "r1"],
            }
        ),
        "segment_summary": pl.DataFrame(
            {
                "segment": ["champions", "lost", "lost"],
                "rule_order": [1, 7, 7],
                "customers": [1, 3, 2],
                "total_clv": [61.5, 3.0, 2.0],
                "total_value_at_risk": [12.3, 2.0, 1.0],
                "mean_churn_probability": [0.2, 0.9, 0.8],
                "as_of": [AS_OF, AS_OF, EARLIER],
                "run_id": ["r2", "r2", "r1"],
            }
        ),
        # the history segment_members implies: K1 lost at EARLIER and champion since AS_OF, K2 lost since AS_OF
        "segment_membership": pl.DataFrame(
            {
                "segment": ["lost", "champions", "lost"],
                "customer_key": ["K1", "K1", "K2"],
                "entered_at": [EARLIER, AS_OF, AS_OF],
                "entered_run_id": ["r1", "r2", "r2"],
                "clv_at_entry": [50.0, 61.5, 1.5],
                "currency": ["EUR"] * 3,
                "exited_at": [AS_OF, None, None],
                "exited_run_id": ["r2", None, None],
            }
        ),
        "segment_scorings": pl.DataFrame(
            {
                "as_of": [EARLIER, AS_OF],
                "run_id": ["r1", "r2"],
                "members": [1, 2],
                "entered": [1, 2],
                "exited": [0, 1],
            }
        ),
        "touchpoint_scores": pl.DataFrame(
            {
                "as_of": [AS_OF],
                "touchpoint": ["email/spring"],
                "source": ["marketing"],
                "channel": ["email"],
                "campaign": ["spring"],
                "conversions": [3.0],
                "revenue": [120.0],
                "attributed_clv": [61.5],
                "retention_value": [5.0],
                "incremental_orders": [1.0],
                "incremental_revenue": [40.0],
                "incremental_value": [45.0],
                "cost": [10.0],
                "roi": [3.0],
                "roi_low": [1.0],
                "roi_high": [5.0],
                "recommendation": ["invest"],
                "model_run_id": ["t1"],
            }
        ),
        "dim_customer_pii": pl.DataFrame(
            {
                "customer_key": ["K1", "K2"],
                "email": [EMAIL, None],
                "phone": [PHONE, None],
                "first_name": ["Ana", None],
                "last_name": ["Lopez", None],
                "postcode": ["28001", None],
            }
        ),
    }


def publish_marts(wh) -> None:
    """Publish every frame of `mart_frames` to ``wh``."""
    for name, frame in mart_frames().items():
        wh.publish(name, frame)
