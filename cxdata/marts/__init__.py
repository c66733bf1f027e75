"""Customer marts: fact tables, sessions, dim_customer and daily CX KPIs, as lazy polars transforms.

    from cxdata.marts import fct_orders, dim_customer, cx_kpis_daily

Each transform takes canonical staged tables (or other marts) plus identity
resolution's ``record_keys`` and returns a ``pl.LazyFrame`` whose columns are
documented in ``sql/<mart>.sql``. No personal data (email, phone, names) is
copied into any mart.
"""

from __future__ import annotations

from cxdata.marts.activity import CONTACTS_SCHEMA, KINDS, customer_activity
from cxdata.marts.customer import STAGES, dim_customer
from cxdata.marts.facts import fct_orders, fct_surveys, fct_tickets, fct_touches
from cxdata.marts.kpis import cx_kpis_daily
from cxdata.marts.sessions import fct_web_sessions

__all__ = [
    "CONTACTS_SCHEMA",
    "KINDS",
    "STAGES",
    "customer_activity",
    "cx_kpis_daily",
    "dim_customer",
    "fct_orders",
    "fct_surveys",
    "fct_tickets",
    "fct_touches",
    "fct_web_sessions",
]
