"""Shard buckets: Python, DuckDB and PostgreSQL put every key in the same bucket, and the shards of a table
partition it exactly."""

from __future__ import annotations

import hashlib
import random

import polars as pl
import pytest

from cxdata.shards import BUCKETS, Shard, bucket_of, bucket_sql, shards
from cxdata.warehouse import Warehouse

ALPHABET = "abcXYZ019 -_@.éñüßøç漢字かな한글Ωж🙂👍\u200d"


def random_keys(count: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    keys = [f"C{i:010d}" for i in rng.sample(range(10**10), count // 2)]
    keys += ["".join(rng.choices(ALPHABET, k=rng.randint(0, 24))) for _ in range(count - len(keys))]
    return list(dict.fromkeys(keys))  # distinct, in order


@pytest.fixture
def wh(warehouse_target):
    url, schema = warehouse_target
    with Warehouse(url, schema) as warehouse:
        yield warehouse


def test_python_bucket_is_the_first_eight_md5_digits_modulo_the_buckets():
    digest = hashlib.md5(b"C0000000001").hexdigest()
    assert bucket_of("C0000000001", 2**32) == int(digest[:8], 16)
    assert bucket_of("C0000000001") == int(digest[:8], 16) % 256
    assert bucket_of("é") == int(hashlib.md5("é".encode()).hexdigest()[:8], 16) % 256
    assert {bucket_of(key) for key in random_keys(4_000)} == set(range(BUCKETS))  # every bucket is reached


def test_the_warehouse_computes_the_python_bucket_for_every_key(wh):
    keys = random_keys(3_000)
    wh.publish("keys", pl.DataFrame({"k": keys}))
    for buckets in (BUCKETS, 7, 2**32):
        expression = bucket_sql(wh.dialect, '"k"')
        found = wh.query(f"select k, {expression} as b from keys", {"buckets": buckets})
        expected = pl.DataFrame({"k": keys, "b": [bucket_of(key, buckets) for key in keys]})
        joined = expected.join(found.with_columns(pl.col("b").cast(pl.Int64)), on="k", suffix="_sql")
        assert joined.height == len(keys)
        mismatched = joined.filter(pl.col("b") != pl.col("b_sql"))
        assert mismatched.is_empty(), mismatched.head()


@pytest.mark.parametrize("count", [1, 3, 8])
def test_the_shards_of_a_table_partition_it_exactly(wh, count):
    keys = random_keys(2_000, seed=count)
    table = pl.DataFrame({"customer_key": [*keys, None], "n": pl.int_range(len(keys) + 1, eager=True)})
    wh.publish("customers", table)
    parts = [wh.read("customers", shard=shard) for shard in shards(count)]
    together = pl.concat(parts)
    assert together["n"].is_unique().all()  # no row in two shards
    assert sorted(together["n"].to_list()) == list(range(len(keys)))  # every keyed row in one; the null in none
    for shard, part in zip(shards(count), parts, strict=True):
        assert all(shard.holds(key) for key in part["customer_key"])
    if count > 1:
        assert all(part.height > 0 for part in parts)


def test_a_shard_filters_on_the_named_column_beside_other_filters(wh):
    ids = random_keys(500)
    table = pl.DataFrame({"anonymous_id": ids, "day": [1 + i % 2 for i in range(len(ids))]})
    wh.publish("sessions", table)
    shard = Shard(1, 4)
    found = wh.read("sessions", columns=["anonymous_id"], where={"day": 2}, shard=shard, shard_by="anonymous_id")
    expected = table.filter(pl.col("day") == 2, pl.col("anonymous_id").map_elements(shard.holds, pl.Boolean))
    assert sorted(found["anonymous_id"]) == sorted(expected["anonymous_id"])


@pytest.mark.parametrize(
    ("index", "count", "message"),
    [
        (0, 0, "a shard count is 1 to 256"),
        (0, 257, "a shard count is 1 to 256"),
        (2, 2, "shard index 2 is outside 0 to 1"),
        (-1, 2, "shard index -1 is outside 0 to 1"),
        (True, 2, "an integer"),
        (0, 2.0, "an integer"),
    ],
)
def test_a_shard_out_of_range_is_refused(index, count, message):
    with pytest.raises(ValueError, match=message):
        Shard(index, count)


def test_shards_lists_every_shard_once():
    assert shards(3) == [Shard(0, 3), Shard(1, 3), Shard(2, 3)]
    with pytest.raises(ValueError):
        shards(0)
