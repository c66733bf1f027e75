"""Every mart built from a small synthetic project, published to DuckDB and PostgreSQL, read back documented."""

from __future__ import annotations

import polars as pl
import pytest

from cxdata.config import JourneyConfig, load_config
from cxdata.io.staging import load_table
from cxdata.marts import (
    CONTACTS_SCHEMA,
    cx_kpis_daily,
    dim_customer,
    fct_orders,
    fct_surveys,
    fct_tickets,
    fct_touches,
    fct_web_sessions,
)
from cxdata.run_context import end_of_day
from cxdata.synth import SynthParams, generate_project
from cxdata.warehouse import Warehouse

PRIMARY_KEYS = {"customers": "customer_ref", "orders": "order_id", "tickets": "ticket_id"}
PRIMARY_KEYS |= {"surveys": "response_id", "web_events": "event_id", "touches": "touch_id"}
PERSONAL = {"email", "phone", "first_name", "last_name", "postcode"}


def _trivial_keys(tables: dict[str, pl.LazyFrame]) -> pl.LazyFrame:
    """A stand-in for identity resolution: customer_ref, else email, else anonymous_id, else the record itself."""
    parts = []
    for table, key in PRIMARY_KEYS.items():
        frame = tables[table]
        names = frame.collect_schema().names()
        device = pl.col("anonymous_id") if "anonymous_id" in names else pl.lit(None, dtype=pl.String)
        email = pl.col("email") if "email" in names else pl.lit(None, dtype=pl.String)
        parts.append(
            frame.select(
                pl.lit(table).alias("source_table"),
                pl.col(key).cast(pl.String).alias("record_id"),
                pl.coalesce(pl.col("customer_ref"), email, device, pl.col(key).cast(pl.String)).alias(
                    "customer_key"
                ),
            )
        )
    return pl.concat(parts)


@pytest.fixture(scope="module")
def marts(tmp_path_factory) -> dict[str, pl.DataFrame]:
    project = generate_project(tmp_path_factory.mktemp("synth"), SynthParams(customers=300, seed=7))
    config = load_config(project.config_path)
    tables = {name: load_table(config, name).lazy() for name in PRIMARY_KEYS}
    keys = _trivial_keys(tables)
    orders = fct_orders(tables["orders"], keys)
    tickets = fct_tickets(tables["tickets"], keys)
    surveys = fct_surveys(tables["surveys"], keys, tickets)
    sessions = fct_web_sessions(tables["web_events"], keys, JourneyConfig().session_timeout_minutes)
    touches = fct_touches(tables["touches"], keys)
    as_of = end_of_day(config.as_of, config.timezone)
    # the stand-in's contacts: customers keyed by a CRM ref or an email
    contacts = (
        pl.concat([tables[t].select("customer_ref", "email") for t in ("customers", "orders", "tickets")])
        .select(pl.coalesce("customer_ref", "email").alias("customer_key"))
        .drop_nulls()
        .with_columns(pl.lit(None).alias("first_seen"))
        .cast(dict(CONTACTS_SCHEMA))
    )
    dim = dim_customer(
        as_of, JourneyConfig(), orders, tickets, surveys, sessions, touches, record_keys=keys, contacts=contacts
    )
    built = {
        "fct_orders": orders,
        "fct_tickets": tickets,
        "fct_surveys": surveys,
        "fct_web_sessions": sessions,
        "fct_touches": touches,
        "dim_customer": dim,
        "cx_kpis_daily": cx_kpis_daily(orders, tickets, surveys, sessions, dim),
    }
    frames = {name: frame.collect() for name, frame in built.items()}
    for table in ("orders", "tickets", "surveys", "touches"):
        assert frames[f"fct_{table}"].height == tables[table].collect().height
    assert frames["dim_customer"].height == keys.select("customer_key").unique().collect().height
    return frames


def test_marts_hold_no_personal_data(marts):
    for name, frame in marts.items():
        assert not PERSONAL & set(frame.columns), name
    assert marts["fct_web_sessions"]["events"].sum() > marts["fct_web_sessions"].height
    assert marts["dim_customer"]["journey_stage"].n_unique() >= 4
    assert marts["dim_customer"]["kind"].n_unique() == 3


def test_every_mart_publishes_documented(marts, warehouse_target):
    url, schema = warehouse_target
    with Warehouse(url, schema=schema) as wh:
        for name, frame in marts.items():
            wh.publish(name, frame)
            assert wh.row_count(name) == frame.height, name
            back = wh.read(name)
            assert back.columns == frame.columns, name
            comments = wh.column_comments(name)
            undocumented = [column for column, text in comments.items() if not text]
            assert not undocumented, f"{name}: columns without a comment: {undocumented}"
            assert wh.table_comment(name), name
