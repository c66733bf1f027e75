"""dim_customer_pii: best email and phone per customer from customer_identity, newest CRM details, one row each."""

from __future__ import annotations

import datetime as dt

import polars as pl

from cxdata import schema
from cxdata.marts.pii import dim_customer_pii, dim_customer_pii_step
from cxdata.warehouse import Warehouse


def identity(rows: list[tuple]) -> pl.LazyFrame:
    """customer_identity rows: (identifier_type, value, customer_key, status, last_seen day, records)."""
    return pl.LazyFrame(
        [
            (kind, value, key, status, dt.datetime(2025, 1, day, tzinfo=dt.UTC), records)
            for kind, value, key, status, day, records in rows
        ],
        schema={
            "identifier_type": pl.String,
            "identifier_value": pl.String,
            "customer_key": pl.String,
            "status": pl.String,
            "last_seen": pl.Datetime("us", "UTC"),
            "records": pl.Int64,
        },
        orient="row",
    )


IDENTITY = [
    ("email", "old@example.com", "K1", "linked", 1, 9),
    ("email", "new@example.com", "K1", "linked", 20, 2),  # newer, but seen on fewer records
    ("phone", "+34600000001", "K1", "linked", 3, 1),
    ("phone", "+34600000002", "K1", "linked", 5, 1),  # same count: the more recently seen wins
    ("phone", "+34699999999", "K2", "shared", 9, 40),  # a household phone belongs to no one
    ("email", "k2@example.com", "K2", "linked", 2, 1),
    ("email", "placeholder@example.com", None, "blocked", 2, 7),
    ("anonymous_id", "cookie-3", "K3", "linked", 4, 3),  # a web-only customer still gets a row
    ("customer_ref", "C1", "K1", "linked", 1, 4),
    ("customer_ref", "C1b", "K1", "linked", 1, 1),
    ("customer_ref", "C2", "K2", "linked", 1, 1),
]


def crm() -> tuple[pl.LazyFrame, pl.LazyFrame]:
    customers = pl.LazyFrame(
        {
            "customer_ref": ["C1", "C1b", "C2", "C9"],
            "first_name": ["  Ana  Maria ", "Anita", "Luis", "Nobody"],
            "last_name": ["Lopez", None, "  ", "X"],
            "postcode": [" 28001 ", None, "sw1a  1aa", "99999"],
            "country": ["es", None, " gb ", "FR"],
            "created_at": [
                dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
                dt.datetime(2023, 1, 1, tzinfo=dt.UTC),  # C1b is the newer record of K1
                dt.datetime(2021, 1, 1, tzinfo=dt.UTC),
                dt.datetime(2021, 1, 1, tzinfo=dt.UTC),
            ],
        }
    )
    keys = pl.LazyFrame(
        {
            "source_table": ["customers", "customers", "customers", "orders"],
            "record_id": ["C1", "C1b", "C2", "C9"],  # C9 is an order id, not the CRM record C9
            "customer_key": ["K1", "K1", "K2", "K3"],
        }
    )
    return customers, keys


def test_best_identifiers_and_newest_crm_values_per_customer():
    customers, keys = crm()

    frame = dim_customer_pii(identity(IDENTITY), customers, keys).collect()

    assert frame.columns == ["customer_key", "email", "phone", "first_name", "last_name", "postcode", "country"]
    assert frame.rows() == [
        # K1: the newer CRM record gives the first name; it has no last name, postcode or country, so the older
        # one's stay
        ("K1", "old@example.com", "+34600000002", "Anita", "Lopez", "28001", "ES"),
        # K2: the shared phone is not the customer's; blank last name is no name; postcode and country tidied
        ("K2", "k2@example.com", None, "Luis", None, "SW1A 1AA", "GB"),
        ("K3", None, None, None, None, None, None),
    ]


def test_without_crm_the_names_are_null_and_inputs_are_untouched():
    source = identity(IDENTITY)
    before = source.collect()

    frame = dim_customer_pii(source).collect()

    assert frame["customer_key"].to_list() == ["K1", "K2", "K3"]
    assert frame.select("first_name", "last_name", "postcode", "country").null_count().row(0) == (3, 3, 3, 3)
    assert frame.schema["first_name"] == pl.String
    assert source.collect().equals(before)


def test_step_publishes_one_row_per_customer_with_its_comments(warehouse_target):
    customers, keys = crm()
    wh = Warehouse(*warehouse_target)
    wh.publish("customer_identity", identity(IDENTITY).with_columns(run_id=pl.lit("r1")))
    wh.publish("identity_record_keys", keys.with_columns(linked_by=pl.lit("customer_ref")))
    wh.publish("stg_customers", customers)

    profile = dim_customer_pii_step(wh)

    published = wh.read("dim_customer_pii").sort("customer_key")
    assert profile.rows == 3
    assert published["email"].to_list() == ["old@example.com", "k2@example.com", None]
    assert published["first_name"].to_list() == ["Anita", "Luis", None]
    assert all(wh.column_comments("dim_customer_pii").values())
    # the asset metadata preview must not show the values it guards
    assert "old@example.com" not in profile.preview_markdown and "Anita" not in profile.preview_markdown
    assert set(schema.PERSONAL_COLUMNS) <= set(published.columns)
    wh.dispose()
