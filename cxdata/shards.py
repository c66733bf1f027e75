"""Customer shards: every key falls in one of 256 md5 buckets, and shard k of N holds the buckets b with
b % N == k.

The bucket is the first 8 hex digits of the md5 of the key's UTF-8 bytes, read as
an unsigned 32-bit number, modulo 256. Python (`bucket_of`), DuckDB and
PostgreSQL (`bucket_sql`, from ``sql/shard_bucket.<dialect>.sql``) compute the
same bucket for every key, so a shard is filtered inside the warehouse
(`shard_condition`, or ``Warehouse.read(..., shard=)``) and never by reading a
table whole. Polars has no md5, which is why the warehouse computes it.

Grouping fixed buckets (rather than hashing modulo N) means a bucket column
stored once serves every shard count up to 256.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache

import sqlalchemy as sa

BUCKETS = 256


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (0 <= index < count <= 256): the keys whose bucket % count == index."""

    index: int
    count: int

    def __post_init__(self) -> None:
        for name in ("index", "count"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"a shard's {name} is an integer, not {value!r}")
        if not 1 <= self.count <= BUCKETS:
            raise ValueError(f"a shard count is 1 to {BUCKETS} (groups of the md5 buckets), not {self.count}")
        if not 0 <= self.index < self.count:
            raise ValueError(f"shard index {self.index} is outside 0 to {self.count - 1} for {self.count} shards")

    def holds(self, key: str) -> bool:
        """Whether ``key`` falls in this shard."""
        return bucket_of(key) % self.count == self.index


def shards(count: int) -> list[Shard]:
    """The ``count`` shards that together hold every key exactly once."""
    Shard(0, count)  # refuses a count outside 1 to 256
    return [Shard(index, count) for index in range(count)]


def bucket_of(key: str, buckets: int = BUCKETS) -> int:
    """The bucket of ``key``: its md5's first 8 hex digits as an unsigned 32-bit number, modulo ``buckets``."""
    return int(hashlib.md5(key.encode("utf-8")).hexdigest()[:8], 16) % buckets


@cache
def _bucket_template(dialect: str) -> str:
    # imported here: the warehouse's read path imports this module
    from cxdata.warehouse.comments import _statements, sql_dir
    from cxdata.warehouse.errors import WarehouseError

    path = sql_dir() / f"shard_bucket.{dialect}.sql"
    if not path.is_file():
        raise WarehouseError(f"no shard bucket expression for dialect {dialect!r} ({path} is missing)")
    return _statements(path.read_text(encoding="utf-8"))[0]


def bucket_sql(dialect: str, key_sql: str) -> str:
    """The SQL expression of the bucket of the text column ``key_sql`` (already quoted) on ``dialect``
    (``duckdb`` or ``postgresql``), with the bound parameter ``:buckets``."""
    return _bucket_template(dialect).replace("{key}", key_sql)


def shard_condition(dialect: str, key_sql: str, shard: Shard) -> sa.TextClause:
    """A WHERE condition keeping the rows whose text column ``key_sql`` (already quoted) falls in ``shard``;
    bucket count, shard count and index are bound parameters. A null key falls in no shard."""
    return sa.text(f"{bucket_sql(dialect, key_sql)} % :shard_count = :shard_index").bindparams(
        buckets=BUCKETS, shard_count=shard.count, shard_index=shard.index
    )
