"""The dim_customer step: bring customer_activity up to date and point the dim_customer view at it.

customer_activity is built again only for the customers its delta touched (`cxdata.marts.activity_delta`),
from their fact rows and contacts read by key; the other rows stay as they are. dim_customer, whose as_of
columns change for everyone every day, is a view projecting customer_activity at the as_of and with the
journey numbers of the one row of ``dim_customer_params`` (`cxdata.marts.customer.params`), so no customer's
row is written for as_of alone. customer_activity, its bookkeeping, that row and the clearing of the fact
updates it followed are written in one transaction; the view is created after it when missing (replacing the
dim_customer table of earlier versions).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import polars as pl

from cxdata.config import ProjectConfig
from cxdata.identity.step import RECORD_KEYS
from cxdata.marts.activity import customer_activity
from cxdata.marts.activity_delta import ACTIVITY, BUILDS, ActivityDelta, activity_delta, build_row
from cxdata.marts.customer import params
from cxdata.marts.delta import FACT_TOUCHED, FACT_TOUCHED_SCHEMA
from cxdata.profile import Profile, table_profile
from cxdata.run_context import RunContext
from cxdata.warehouse import Warehouse
from cxdata.warehouse.views import create_mart_view

NAME = "dim_customer"  # a view over customer_activity and PARAMS (sql/dim_customer.<dialect>.sql)
PARAMS = "dim_customer_params"
PREVIEW_ROWS = 5  # rows of the view read for the profile's preview
IDENTITY = "customer_identity"  # read as the contacts (`read_contacts`), never whole
CONTACT_IDENTIFIERS = ("customer_ref", "email", "phone")  # identifiers that make a non-buyer a known contact
# the fact marts, by the argument of `customer_activity` each one is
FACTS = {
    "fct_orders": "orders",
    "fct_tickets": "tickets",
    "fct_surveys": "surveys",
    "fct_web_sessions": "sessions",
    "fct_touches": "touches",
}
Read = Callable[[str], pl.LazyFrame | None]


def read_contacts(wh: Warehouse, customers: pl.DataFrame | None = None) -> pl.LazyFrame:
    """customer_activity's ``contacts``: the customers with a CRM record, or a customer_ref, email or phone
    that identity resolution linked to them alone, with when the identifier was first seen (null for a CRM
    record); only those of ``customers`` (a frame with customer_key) when given."""
    crm = wh.read(RECORD_KEYS, columns=["customer_key"], where={"source_table": "customers"}, where_in=customers)
    parts = [crm.select("customer_key", pl.lit(None, dtype=pl.Datetime("us", "UTC")).alias("first_seen"))]
    if wh.exists(IDENTITY):
        # one read per type: only the rows that count, and only the key and time (the values are personal data)
        for kind in CONTACT_IDENTIFIERS:
            where = {"status": "linked", "identifier_type": kind}
            parts.append(
                wh.read(IDENTITY, columns=["customer_key", "first_seen"], where=where, where_in=customers)
            )
    return pl.concat(parts).lazy()


def dim_customer_step(wh: Warehouse, config: ProjectConfig, run: RunContext, read: Read) -> Profile:
    """Bring customer_activity up to ``run``'s as_of, from its delta or whole (``read`` gives the frame of
    each input of a full build, as `cxdata.marts.step` reads it), publish it with the view's parameters and
    make sure the dim_customer view exists. The profile describes dim_customer; its facts say how
    customer_activity was built, and why."""
    facts = [name for name in FACTS if wh.exists(name)]
    delta = activity_delta(wh, config, run, facts)
    if delta.full_reason is not None:
        rows = full_activity(run, read, config.currency).collect()
    elif delta.touched.height:
        rows = _activity_of(wh, run, delta.touched, facts, config.currency)
    else:  # nothing to read: as_of stayed and nothing changed
        rows = None
    began = time.perf_counter()
    with wh.transaction() as tx:
        if delta.full_reason is not None:
            tx.publish(ACTIVITY, rows)
        elif rows is not None:
            tx.replace_keys(ACTIVITY, rows, on="customer_key", keys=delta.touched)
        tx.publish(PARAMS, params(run.as_of, config.journey))
        tx.publish(BUILDS, build_row(config, run, facts, delta))
        # the fact updates followed are done with; a row a fact update writes meanwhile stays for the next build
        tx.replace_keys(FACT_TOUCHED, pl.DataFrame(schema=FACT_TOUCHED_SCHEMA), ["mart", "run_id"], delta.followed)
    seconds = time.perf_counter() - began
    create_mart_view(wh, NAME)
    # the profile describes the view as it is now: its size, columns and first rows
    profile = replace(table_profile(wh.read(NAME, limit=PREVIEW_ROWS), seconds), rows=wh.row_count(NAME))
    return profile.with_facts(_facts(delta, 0 if rows is None else rows.height))


def full_activity(run: RunContext, read: Read, currency: str) -> pl.LazyFrame:
    """customer_activity of every customer at ``run``'s as_of, from the frames ``read`` gives of the fact
    marts, the record keys and the contacts."""
    frames = {FACTS[fact]: read(fact) for fact in FACTS}
    keys, contacts = read(RECORD_KEYS), read(IDENTITY)
    assert keys is not None and contacts is not None
    return customer_activity(run.as_of, **frames, customers=keys, contacts=contacts, currency=currency)


def _activity_of(
    wh: Warehouse, run: RunContext, touched: pl.DataFrame, facts: list[str], currency: str
) -> pl.DataFrame:
    """customer_activity rows of the ``touched`` customers that still exist, from their rows read by key."""
    frames = {FACTS[fact]: wh.read(fact, where_in=touched).lazy() for fact in facts}
    keys = wh.read(RECORD_KEYS, columns=["customer_key"], where_in=touched).lazy()
    contacts = read_contacts(wh, touched)
    activity = customer_activity(run.as_of, **frames, customers=keys, contacts=contacts, currency=currency)
    return activity.collect()


def _facts(delta: ActivityDelta, rows: int) -> dict[str, object]:
    if delta.full_reason is not None:
        return {"mode": "full", "mode_reason": delta.full_reason}
    touched = {f"touched_by_{source}": count for source, count in delta.sources.items()}
    return {
        "mode": "incremental",
        "customers_rebuilt": delta.touched.height,
        "activity_rows": rows,
    } | touched
