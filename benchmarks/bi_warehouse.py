"""Benchmark: dim_customer_pii on 1M customers, and what views, grants and the BI views cost a PostgreSQL publish.

Data (numpy, seeded): N customers, each with one customer_ref, one or two
emails, a phone (one in ten shared) and one CRM record; the mart must return
exactly N rows. Then, on PostgreSQL (``CXDATA_TEST_PG_URL`` or the local test
server), a table of ``--rows`` rows is published three times bare and three
times with two views on it and grants to PUBLIC, so the difference is what
keeping the dependents costs the swap; `create_views` and `grant_roles` are
timed on the same schema. The schema is dropped afterwards.

    uv run python benchmarks/bi_warehouse.py [--customers 1000000] [--rows 1000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import uuid

import numpy as np
import polars as pl
import sqlalchemy as sa
from measure import timed

from cxdata.marts.pii import dim_customer_pii
from cxdata.warehouse import Warehouse

PG_URL = os.environ.get("CXDATA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def identity_frames(customers: int, seed: int = 0) -> tuple[pl.LazyFrame, pl.LazyFrame, pl.LazyFrame]:
    rng = np.random.default_rng(seed)
    keys = pl.Series("customer_key", [f"K{i:09d}" for i in range(customers)])
    second = rng.random(customers) < 0.3
    when = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    rows = pl.concat(
        [
            pl.DataFrame(
                {"identifier_type": "customer_ref", "identifier_value": "C" + keys.str.slice(1), "key": keys}
            ),
            pl.DataFrame({"identifier_type": "email", "identifier_value": keys + "@example.com", "key": keys}),
            pl.DataFrame(
                {
                    "identifier_type": "email",
                    "identifier_value": keys.filter(second) + "@old.example",
                    "key": keys.filter(second),
                }
            ),
            pl.DataFrame(
                {"identifier_type": "phone", "identifier_value": "+3460" + keys.str.slice(3), "key": keys}
            ),
        ]
    ).rename({"key": "customer_key"})
    identity = rows.with_columns(
        status=pl.lit("linked"),
        last_seen=pl.lit(when) + pl.duration(days=pl.Series(rng.integers(0, 400, rows.height))),
        records=pl.Series(rng.integers(1, 20, rows.height)),
    )
    crm = pl.DataFrame(
        {
            "customer_ref": "C" + keys.str.slice(1),
            "first_name": "Name",
            "last_name": "Surname",
            "postcode": "28001",
        }
    ).with_columns(created_at=pl.lit(when, pl.Datetime("us", "UTC")))
    record_keys = pl.DataFrame(
        {"source_table": "customers", "record_id": crm["customer_ref"], "customer_key": keys}
    )
    return identity.lazy(), crm.lazy(), record_keys.lazy()


def bench_pii(customers: int) -> None:
    identity, crm, record_keys = identity_frames(customers)
    frame, _ = timed(
        f"dim_customer_pii, {customers:,} customers, {identity.select(pl.len()).collect().item():,} identifiers",
        lambda: dim_customer_pii(identity, crm, record_keys).collect(),
    )
    assert frame.height == customers and frame["email"].null_count() == 0 and frame["postcode"].null_count() == 0


def bench_postgres(rows: int) -> None:
    from cxdata.warehouse.roles import grant_roles
    from cxdata.warehouse.views import create_views

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    table = pl.DataFrame({"id": np.arange(rows), "value": np.random.default_rng(1).random(rows)})
    try:
        with Warehouse(PG_URL, schema) as wh:
            bare = [
                timed(f"publish {rows:,} rows, no dependents", lambda: wh.publish("numbers", table))[1]
                for _ in range(3)
            ]
            with wh.engine.begin() as conn:
                conn.exec_driver_sql(
                    f"create view {wh._qualified('numbers_v')} as select id, value from {wh._qualified('numbers')}"
                )
                q = wh._qualified
                conn.exec_driver_sql(
                    f"create view {q('numbers_vv')} as select count(*) as n from {q('numbers_v')}"
                )
                conn.exec_driver_sql(
                    f"grant select on {wh._qualified('numbers')}, {wh._qualified('numbers_v')} to public"
                )
            kept = [
                timed(f"publish {rows:,} rows, 2 views + grants kept", lambda: wh.publish("numbers", table))[1]
                for _ in range(3)
            ]
            print(f"median cost of keeping dependents: {np.median(kept) - np.median(bare):+.3f} s per publish")
            from tests.warehouse.bi_tables import publish_marts

            publish_marts(wh)
            timed("create_views (5 views)", lambda: create_views(wh))
            timed("grant_roles (2 roles)", lambda: grant_roles(wh))
    finally:
        engine = sa.create_engine(PG_URL)
        with engine.begin() as conn:
            conn.exec_driver_sql(f'drop schema if exists "{schema}" cascade')
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    bench_pii(args.customers)
    bench_postgres(args.rows)


if __name__ == "__main__":
    main()
