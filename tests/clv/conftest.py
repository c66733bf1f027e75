"""Shared CLV fixtures: the CDNOW log shipped with lifetimes and a generated project keyed by true person."""

from __future__ import annotations

import importlib.resources
import re

import polars as pl
import pytest

from cxdata.config import load_config
from cxdata.io import load_table
from cxdata.marts.facts import REFUND_STATUSES
from cxdata.synth import SynthParams, generate_project

DATASETS = importlib.resources.files("lifetimes") / "datasets"


def cdnow_master() -> pl.DataFrame:
    """CDNOW_master.txt (customer id, YYYYMMDD, CDs, dollars) as customer_key, ordered_at (UTC), amount."""
    raw = pl.read_csv(
        re.sub(rb" +", b" ", re.sub(rb"(?m)^ +| +$", b"", (DATASETS / "CDNOW_master.txt").read_bytes())),
        separator=" ",
        has_header=True,
        schema={
            "customer_id": pl.String,
            "date": pl.String,
            "number_of_cds": pl.Int64,
            "dollar_value": pl.Float64,
        },
    )
    return raw.select(
        pl.col("customer_id").alias("customer_key"),
        pl.col("date").str.strptime(pl.Datetime("us", "UTC"), "%Y%m%d").alias("ordered_at"),
        pl.col("dollar_value").alias("amount"),
    )


@pytest.fixture(scope="session")
def cdnow() -> pl.DataFrame:
    return cdnow_master()


def person_orders(root) -> tuple[object, pl.DataFrame]:
    """The project's config and its orders keyed by the true person (identity out of the way), refunds flagged."""
    config = load_config(root / "cxdata.yaml")
    orders = load_table(config, "orders").with_columns(pl.col("order_id").cast(pl.String))
    truth = pl.read_parquet(root / "truth" / "identity.parquet").filter(pl.col("source_table") == "orders")
    keyed = orders.join(truth.select(pl.col("record_id").alias("order_id"), "person_id"), on="order_id")
    status = pl.col("status").str.to_lowercase().str.strip_chars().is_in(REFUND_STATUSES).fill_null(False)
    return config, keyed.select(
        pl.col("person_id").cast(pl.String).alias("customer_key"),
        "ordered_at",
        "amount",
        ((pl.col("amount") < 0) | status).alias("is_refund"),
    )


@pytest.fixture(scope="session")
def truth_project(tmp_path_factory):
    root = tmp_path_factory.mktemp("clv_truth")
    generate_project(root, SynthParams(customers=3000, seed=5))
    config, orders = person_orders(root)
    return root, config, orders
