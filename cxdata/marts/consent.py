"""customer_consent: per resolved customer, whether they agreed to each contact purpose (email, sms, ads).

    from cxdata.marts.consent import customer_consent

A CRM record states consent in the optional canonical columns consent_email, consent_sms and consent_ads, with
consent_updated_at. A customer may have several CRM records (duplicates that identity joined): per purpose, the
newest statement wins (latest consent_updated_at, then the newest record, then the smallest customer_ref, so
reruns agree), and a record that says nothing of a purpose (null) does not undo an older yes or no. A customer
with no statement for a purpose has not agreed to it: exports for that purpose leave them out
(`cxdata.serve.segments`). Columns are documented in sql/customer_consent.sql.
"""

from __future__ import annotations

import polars as pl

from cxdata.marts._common import crm_records
from cxdata.profile import Profile, table_profile
from cxdata.warehouse import Warehouse

NAME = "customer_consent"
PURPOSES = ("email", "sms", "ads")
_COLUMNS = [f"consent_{p}" for p in PURPOSES]


def customer_consent(customers: pl.LazyFrame, record_keys: pl.LazyFrame) -> pl.LazyFrame:
    """One row per customer_key with a CRM record (``customers``: stg_customers, placed by ``record_keys``):
    the newest statement of each purpose, and when the newest of those was made."""
    statements = crm_records(customers, record_keys, *_COLUMNS, "consent_updated_at").sort(
        ["consent_updated_at", "created_at", "customer_ref"], descending=[True, True, False], nulls_last=True
    )
    # group_by keeps each group's rows in frame order: after the sort, the first non-null is the newest statement
    newest = [pl.col(c).drop_nulls().first().alias(c) for c in _COLUMNS]
    stated_at = [
        pl.col("consent_updated_at").filter(pl.col(c).is_not_null()).first().alias(f"__{c}_at") for c in _COLUMNS
    ]
    return (
        statements.group_by("customer_key")
        .agg(*newest, *stated_at)
        .select(
            "customer_key",
            *_COLUMNS,
            pl.max_horizontal(f"__{c}_at" for c in _COLUMNS).alias("consent_updated_at"),
        )
        .sort("customer_key")
    )


def customer_consent_step(wh: Warehouse) -> Profile:
    """Build customer_consent from stg_customers and identity_record_keys, and publish it."""
    record_keys = wh.read(
        "identity_record_keys",
        columns=["source_table", "record_id", "customer_key"],
        where={"source_table": "customers"},
    ).lazy()
    frame = customer_consent(wh.scan("stg_customers"), record_keys).collect()
    published = wh.publish(NAME, frame)
    return table_profile(frame, published.seconds)
