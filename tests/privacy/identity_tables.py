"""Hand-made identity tables of a few customers, for the erasure tests that need no run."""

from __future__ import annotations

import datetime as dt

import polars as pl

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
LINKS = pl.DataFrame(
    {
        "source_table": ["customers", "orders", "orders", "customers", "orders"],
        "record_id": ["R1", "o1", "o2", "R2", "o3"],
        "identifier_type": ["customer_ref", "email", "phone", "customer_ref", "phone"],
        # the person (key B) and their household phone, which customer D's order carries too
        "identifier_value": ["R1", "ana@example.com", "+34600000001", "R2", "+34600000001"],
        "status": ["linked", "linked", "shared", "linked", "shared"],
    }
)
RECORD_KEYS = pl.DataFrame(
    {
        "source_table": ["customers", "orders", "orders", "customers", "orders"],
        "record_id": ["R1", "o1", "o2", "R2", "o3"],
        "customer_key": ["B", "B", "B", "D", "D"],
    }
)
IDENTITY = pl.DataFrame(
    {
        "identifier_type": ["customer_ref", "email", "phone", "customer_ref"],
        "identifier_value": ["R1", "ana@example.com", "+34600000001", "R2"],
        "customer_key": ["B", "B", None, "D"],
        "status": ["linked", "linked", "shared", "linked"],
    }
)
# A merged into B (the person's older key); D was split off C, and C lives on with no record here but D's
# split: only the merge chain is followed
MERGES = pl.DataFrame(
    {"old_key": ["A", "Z", "C"], "new_key": ["B", "A", "D"], "kind": ["merge", "merge", "split"]}
)
HISTORY = pl.DataFrame({"customer_key": ["A", "B", "C", "D", "Z"], "clv": [1.0, 2.0, 3.0, 4.0, 5.0]})
