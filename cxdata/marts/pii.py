"""dim_customer_pii: the one mart with a customer's contact details, kept apart so roles can fence it off.

    from cxdata.marts.pii import dim_customer_pii

Every other mart is keyed by the pseudonymous ``customer_key`` only. This one
holds, per customer_key, the best email and phone (already normalised by
identity resolution: trimmed lower-case email, E.164 phone) and the CRM's
first name, last name, postcode and country. On PostgreSQL only the table owner reads it
(`cxdata grant` gives it to no role); marketing gets hashes through the
``marketing_segment_export`` view. Columns are documented in sql/dim_customer_pii.sql.
"""

from __future__ import annotations

import polars as pl

from cxdata.marts._common import crm_records
from cxdata.profile import Profile, table_profile
from cxdata.warehouse import Warehouse

NAME = "dim_customer_pii"
CRM_COLUMNS = ("first_name", "last_name", "postcode", "country")
_IDENTITY_COLUMNS = ["identifier_type", "identifier_value", "customer_key", "status", "last_seen", "records"]


def _best_identifier(identity: pl.LazyFrame, id_type: str) -> pl.LazyFrame:
    # The value seen on the most records wins, then the most recently seen, then the smallest, so reruns agree.
    return (
        identity.filter(
            (pl.col("identifier_type") == id_type)
            & (pl.col("status") == "linked")
            & pl.col("customer_key").is_not_null()
        )
        .sort(
            ["customer_key", "records", "last_seen", "identifier_value"],
            descending=[False, True, True, False],
            nulls_last=True,
        )
        .unique(subset="customer_key", keep="first", maintain_order=True)
        .select("customer_key", pl.col("identifier_value").alias(id_type))
    )


def _tidy(column: str) -> pl.Expr:
    text = pl.col(column).cast(pl.String).str.strip_chars().str.replace_all(r"\s+", " ")
    tidied = text.str.to_uppercase() if column in ("postcode", "country") else text
    return pl.when(text == "").then(None).otherwise(tidied).alias(column)


def _crm_details(customers: pl.LazyFrame, record_keys: pl.LazyFrame) -> pl.LazyFrame:
    # Per column, the newest CRM record that has a value: a duplicate CRM record without a postcode
    # does not blank the postcode its older twin holds.
    records = crm_records(customers, record_keys, *[_tidy(c) for c in CRM_COLUMNS])
    # group_by keeps each group's rows in frame order, so one sort makes first() the newest record
    newest_first = records.sort(["created_at", "customer_ref"], descending=[True, False], nulls_last=True)
    return newest_first.group_by("customer_key").agg(pl.col(c).drop_nulls().first() for c in CRM_COLUMNS)


def dim_customer_pii(
    identity: pl.LazyFrame, customers: pl.LazyFrame | None = None, record_keys: pl.LazyFrame | None = None
) -> pl.LazyFrame:
    """One row per customer_key of ``identity`` (customer_identity) with its best email and phone and, from
    ``customers`` (stg_customers) placed by ``record_keys``, its newest first name, last name, postcode and
    country."""
    keys = identity.filter(pl.col("customer_key").is_not_null()).select("customer_key").unique()
    frame = keys
    for id_type in ("email", "phone"):
        frame = frame.join(_best_identifier(identity, id_type), on="customer_key", how="left")
    if customers is not None and record_keys is not None:
        frame = frame.join(_crm_details(customers, record_keys), on="customer_key", how="left")
    else:
        frame = frame.with_columns(pl.lit(None, pl.String).alias(c) for c in CRM_COLUMNS)
    return frame.select("customer_key", "email", "phone", *CRM_COLUMNS).sort("customer_key")


def dim_customer_pii_step(wh: Warehouse) -> Profile:
    """Build dim_customer_pii from the published identity tables and stg_customers, and publish it."""
    identity = wh.read("customer_identity", columns=_IDENTITY_COLUMNS).lazy()
    customers = record_keys = None
    if wh.exists("stg_customers"):
        customers = wh.scan("stg_customers")
        record_keys = wh.read(
            "identity_record_keys",
            columns=["source_table", "record_id", "customer_key"],
            where={"source_table": "customers"},
        ).lazy()
    frame = dim_customer_pii(identity, customers, record_keys).collect()
    published = wh.publish(NAME, frame)
    return table_profile(frame, published.seconds)
