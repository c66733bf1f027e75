"""compare_warehouses: equal up to row order, run bookkeeping and 1e-9 on floats (JSON numbers too); any other
difference, and a table only one side holds, is named."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
import sqlalchemy as sa

from cxdata.warehouse import Warehouse
from cxdata.warehouse.compare import compare_warehouses


@pytest.fixture
def two_schemas(warehouse_target):
    """(url, left schema, right schema): two schemas of one DuckDB file or one PostgreSQL database."""
    url, schema = warehouse_target
    if schema is None:
        yield url, "left_side", "right_side"
        return
    other = f"{schema}_r"
    try:
        yield url, schema, other
    finally:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text(f'drop schema if exists "{other}" cascade'))
        engine.dispose()


def _publish(url: str, schema: str, tables: dict[str, pl.DataFrame]) -> None:
    with Warehouse(url, schema) as wh:
        for name, frame in tables.items():
            wh.publish(name, frame)


NOON = dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC)


def test_equal_up_to_order_run_columns_and_tolerance_and_every_other_difference_named(two_schemas):
    url, left, right = two_schemas
    keys = {"customer_key": [1, 2, 3], "segment": ["a", "b", None]}
    scores = pl.DataFrame({**keys, "clv": [1.0, 2.5, None], "run_id": ["r1"] * 3})
    shared = {
        "load_audit": pl.DataFrame({"rows": [1]}),  # a run table: never compared
        "json_close": pl.DataFrame({"k": [1, 2], "params_json": ['{"a": [0.1, 2]}', None]}),
    }
    _publish(url, left, {
        **shared,
        "scores": scores,
        "drifted": pl.DataFrame({"k": [1], "clv": [1.0]}),
        "sessions": pl.DataFrame({"k": [1], "started_at": [NOON]}),
        "json_far": pl.DataFrame({"k": [1], "params_json": ['{"a": 0.1}']}),
        "renamed": pl.DataFrame({"k": ["x"]}),
        "left_only": pl.DataFrame({"k": [1, 2]}),
    })  # fmt: skip
    _publish(url, right, {
        "load_audit": pl.DataFrame({"rows": [2, 3]}),
        "json_close": pl.DataFrame({"k": [2, 1], "params_json": [None, '{"a":[0.10000000000000002,2.0]}']}),
        # rows in another order, a float 1e-12 away, another run
        "scores": scores.reverse().with_columns(pl.col("clv") + 1e-12, run_id=pl.lit("r2")),
        "drifted": pl.DataFrame({"k": [1], "clv": [1.0 + 1e-6]}),
        "sessions": pl.DataFrame({"k": [1], "started_at": [NOON + dt.timedelta(seconds=1)]}),
        "json_far": pl.DataFrame({"k": [1], "params_json": ['{"a": 0.2}']}),
        "renamed": pl.DataFrame({"key": ["x"]}),
    })  # fmt: skip

    verdicts = {v.table: v for v in compare_warehouses(url, url, left, right)}

    assert set(verdicts) == {"scores", "json_close", "drifted", "sessions", "json_far", "renamed", "left_only"}
    assert {name for name, v in verdicts.items() if v.equal} == {"scores", "json_close"}
    assert verdicts["scores"].rows == 3
    assert "clv" in verdicts["drifted"].difference
    assert "started_at" in verdicts["sessions"].difference  # a session's start is data, not a run stamp
    assert "params_json" in verdicts["json_far"].difference
    assert verdicts["renamed"].difference.startswith("columns differ")
    assert (verdicts["left_only"].rows, verdicts["left_only"].difference) == (2, "only in the left warehouse")


def test_large_tables_compared_in_chunks_with_null_keys_and_the_whole_column_scale(two_schemas):
    url, left, right = two_schemas
    ids = [f"o{i}" for i in range(60)] + [None] * 5
    # the largest value (1e6) sits in one chunk; a difference of 1e-4 elsewhere is within 1e-9 of it
    amounts = [1e6] + [float(i) for i in range(1, 65)]
    orders = pl.DataFrame({"order_id": ids, "customer_key": [f"c{i % 7}" for i in range(65)], "amount": amounts})
    numbers = pl.DataFrame({"n": list(range(40)), "x": [0.5] * 40})  # no text column: compared whole
    _publish(url, left, {"orders": orders, "numbers": numbers, "moved": orders})
    moved = orders.with_columns(  # a null-id row's amount differs: only the null chunk can see it
        amount=pl.when(pl.col("order_id").is_null() & (pl.col("amount") == 61.0)).then(62.5).otherwise("amount")
    )
    nudged = pl.col("amount") + pl.when(pl.col("amount") < 1e6).then(1e-4).otherwise(0.0)
    _publish(url, right, {
        "orders": orders.reverse().with_columns(nudged),
        "numbers": numbers.reverse(),
        "moved": moved,
    })  # fmt: skip

    chunked = {v.table: v for v in compare_warehouses(url, url, left, right, relative=1e-9, chunk_rows=10)}
    whole = {v.table: v for v in compare_warehouses(url, url, left, right, relative=1e-9)}

    for verdicts in (chunked, whole):
        assert verdicts["orders"].equal and verdicts["orders"].rows == 65
        assert verdicts["numbers"].equal and verdicts["numbers"].rows == 40
        assert "amount" in verdicts["moved"].difference
    assert chunked["moved"].difference.startswith("rows with a null order_id: ")
    strict = {v.table: v for v in compare_warehouses(url, url, left, right, relative=1e-12, chunk_rows=10)}
    assert not strict["orders"].equal and "in md5 group" in strict["orders"].difference
