"""Binary COPY stores exactly what CSV COPY stores, for every dtype it encodes, nulls and edge values included."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
import sqlalchemy as sa

from cxdata.warehouse import loaders, pgbinary
from cxdata.warehouse.types import stored_frame, warehouse_columns

EDGES = pl.DataFrame(
    {
        "flag": [True, False, None],
        "i8": pl.Series([1, -128, None], dtype=pl.Int8),
        "i16": pl.Series([1, -32768, None], dtype=pl.Int16),
        "i32": pl.Series([2**31 - 1, -5, None], dtype=pl.Int32),
        "i64": [2**63 - 1, -(2**63), None],
        "u8": pl.Series([255, 0, None], dtype=pl.UInt8),
        "u16": pl.Series([65535, 0, None], dtype=pl.UInt16),
        "u32": pl.Series([2**32 - 1, 0, None], dtype=pl.UInt32),
        "f32": pl.Series([1.5, float("nan"), None], dtype=pl.Float32),
        "f64": [float("inf"), -0.0, None],
        "f64_small": [1e-300, 0.1, float("-inf")],
        "text": ["a'\"b,\n\\x", "", None],
        "wide": ["ü€😀", "x" * 1000, "y"],
        "day": [dt.date(1970, 1, 1), dt.date(1, 1, 1), None],
        "day_edges": [dt.date(2000, 1, 1), dt.date(9999, 12, 31), dt.date(1999, 12, 31)],
        "naive": [dt.datetime(2020, 1, 1, 12, 30, 1, 123456), dt.datetime(1900, 1, 1), None],
        "aware": pl.Series(
            [dt.datetime(2020, 1, 1, 12, 30, 1, 1, tzinfo=dt.UTC), dt.datetime(1960, 5, 1, tzinfo=dt.UTC), None]
        ).dt.convert_time_zone("Europe/Madrid"),
        "nanos": pl.Series([dt.datetime(2020, 1, 1, 0, 0, 0, 1), None, dt.datetime(1970, 1, 1)]).cast(
            pl.Datetime("ns")
        ),
        "clock": [dt.time(23, 59, 59, 999999), dt.time(0), None],
        "span": [dt.timedelta(days=3, microseconds=5), dt.timedelta(microseconds=-7), None],
        "blob": [b"\x00\xff", b"", None],
        "nothing": [None, None, None],
        "label": pl.Series(["x", None, "y"], dtype=pl.Categorical),
    }
)


# "big" spans several COPY chunks
@pytest.mark.parametrize("frame", [EDGES, EDGES.head(0), pl.concat([EDGES] * 70_000)], ids=["edges", "no", "big"])
def test_binary_copy_stores_what_csv_copy_stores(pg_server, monkeypatch, frame):
    stored = stored_frame(frame)
    assert pgbinary.encodable(stored.schema)
    definition = ", ".join(f'"{c}" {kind}' for c, kind in warehouse_columns(frame.schema, "postgresql").items())
    engine = sa.create_engine(pg_server)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("SET TimeZone TO 'America/New_York'")  # the session's zone must not matter
            for table in ("by_binary", "by_csv"):
                conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {table} ({definition})")
            loaders.bulk_load(conn, "postgresql", "by_binary", stored)
            monkeypatch.setattr(pgbinary, "encodable", lambda schema: False)
            loaders.bulk_load(conn, "postgresql", "by_csv", stored)
            # whole rows as text, so NaN and nulls compare too
            rows = {
                table: sorted(conn.exec_driver_sql(f"select {table}::text from {table}").scalars())
                for table in ("by_binary", "by_csv")
            }
    finally:
        engine.dispose()
    assert len(rows["by_binary"]) == frame.height
    assert rows["by_binary"] == rows["by_csv"]


def test_numeric_columns_are_not_encoded():
    assert not pgbinary.encodable(pl.Schema({"amount": pl.Decimal(10, 2)}))
    assert not pgbinary.encodable(pl.Schema({"big": pl.UInt64}))
    assert pgbinary.encodable(stored_frame(EDGES).schema)
