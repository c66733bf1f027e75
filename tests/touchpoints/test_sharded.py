"""Touchpoint scoring by customer shard: 2 and 3 shards publish what one shard (the unsharded step) does, on
DuckDB and PostgreSQL."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cxdata.run_context import run_context
from cxdata.shards import shards
from cxdata.synth import SynthParams, generate_project
from cxdata.touchpoints.sharded import run_shards
from cxdata.touchpoints.step import touchpoint_step
from cxdata.warehouse import Warehouse

from .projects import person_tables, with_touchpoints


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("touchpoint_shards")
    generate_project(root, SynthParams(customers=800, seed=31))
    config, tables = person_tables(root)
    return with_touchpoints(config, bootstrap_replicates=20), tables


def _same(left: pl.DataFrame, right: pl.DataFrame, keys: list[str]) -> None:
    """Equal frames; floats to 1e-9 of their column's scale (the shards add the same terms in another order,
    and a figure near zero that is a difference of large sums keeps their absolute rounding)."""
    left, right = left.sort(keys, nulls_last=True), right.sort(keys, nulls_last=True)
    floats = [c for c, t in left.schema.items() if t == pl.Float64]
    assert_frame_equal(left.drop(floats), right.drop(floats))
    for column in floats:
        a, b = left[column], right[column]
        assert a.is_null().to_list() == b.is_null().to_list(), column
        scale = max(1.0, a.abs().max() or 0.0)
        worst = (a - b).abs().max() or 0.0
        assert worst <= 1e-9 * scale, (column, worst, scale)


def test_two_and_three_shards_give_the_unsharded_scores(project, warehouse_target):
    config, tables = project
    url, schema = warehouse_target
    reports = {}
    with Warehouse(url, schema=schema) as wh:
        for name, frame in tables.items():
            wh.publish(name, frame)
        # every shard holds customers with contacts, so each one's sums matter
        for shard in shards(3):
            orders = wh.read("fct_touches", columns=["customer_key"], shard=shard)
            assert orders.height > 1000
        for count in (1, 2, 3):
            run = run_context(wh, config, f"r{count}")
            reports[count] = touchpoint_step(wh, config, run, refit=True, shards=count)
            reports[count].scores = wh.read("touchpoint_scores").drop("model_run_id")
    one = reports[1]
    assert one.failed is None and one.scores.height > 10 and one.retention.height >= 3
    assert one.scores["incremental_value_low"].is_not_null().sum() > 5 and one.calibration.height > 5
    for count in (2, 3):
        many = reports[count]
        _same(one.scores, many.scores, ["touchpoint"])
        _same(one.attribution, many.attribution, ["model", "touchpoint"])
        _same(one.retention, many.retention, ["touchpoint"])
        _same(one.calibration, many.calibration, ["touchpoint"])
        assert one.late_share == pytest.approx(many.late_share, rel=1e-12)


def test_empty_shards_add_nothing(tmp_path, warehouse_target):
    """60 customers in 40 shards: most shards hold one customer or none, and still add up to one shard."""
    generate_project(tmp_path, SynthParams(customers=60, seed=5))
    config, tables = person_tables(tmp_path)
    config = with_touchpoints(config, bootstrap_replicates=10)
    url, schema = warehouse_target
    with Warehouse(url, schema=schema) as wh:
        for name, frame in tables.items():
            wh.publish(name, frame)
        as_of = run_context(wh, config, "r").as_of
        empty = [s for s in shards(40) if wh.read("fct_orders", columns=["customer_key"], shard=s).height == 0]
        one, many = run_shards(wh, config, as_of, 1), run_shards(wh, config, as_of, 40)
    assert len(empty) >= 5 and one.lift.table.height > 3 and one.retention.table.height > 0
    _same(one.attribution, many.attribution, ["model", "touchpoint"])
    _same(one.lift.table, many.lift.table, ["touchpoint"])
    _same(one.retention.table, many.retention.table, ["touchpoint"])
    assert one.stats == many.stats
