"""Builders of hand-made identity records shared by the graph and key tests."""

from __future__ import annotations

import datetime as dt

import polars as pl

from cxdata.schema import UTC_TIMESTAMP

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def orders(*rows: dict) -> pl.DataFrame:
    """Orders from dicts of order_id and identifiers; times one day apart in row order."""
    full = [
        {
            "order_id": r["order_id"],
            "customer_ref": r.get("customer_ref"),
            "email": r.get("email"),
            "phone": r.get("phone"),
            "ordered_at": T0 + dt.timedelta(days=i),
            "amount": 10.0,
        }
        for i, r in enumerate(rows)
    ]
    schema = {
        "order_id": pl.String,
        "customer_ref": pl.String,
        "email": pl.String,
        "phone": pl.String,
        "ordered_at": UTC_TIMESTAMP,
        "amount": pl.Float64,
    }
    return pl.DataFrame(full, schema=schema)
