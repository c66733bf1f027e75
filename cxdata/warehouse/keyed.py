"""Keys staged in the warehouse: a frame of key values loaded into a temporary table and joined in SQL, for
reads of the rows with those keys (``Warehouse.read(where_in=)``) and for keyed replaces
(``Transaction.replace_keys``).

Keys never travel as one bound parameter each: PostgreSQL's protocol caps a
statement at 65,535 parameters. The frame is bulk loaded instead (`cxdata.warehouse.loaders`), in the
connection's open transaction, and matched with ``(cols) IN (SELECT cols FROM
keys)``, a semi join either warehouse plans with a hash. A key with a null in any
column is dropped before loading: a null never equals anything, so it matches
no row.

The temporary table lives only in its connection and transaction: a rollback
removes it on both warehouses, PostgreSQL drops it at commit (``ON COMMIT
DROP``), and every user drops it once its statements ran, since pooled DuckDB
connections outlive the transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import polars as pl
import sqlalchemy as sa

from cxdata.shards import Shard, shard_condition
from cxdata.warehouse import loaders
from cxdata.warehouse.errors import WarehouseError
from cxdata.warehouse.identifiers import check_name
from cxdata.warehouse.types import DUCKDB, POSTGRESQL, stored_frame, warehouse_columns

if TYPE_CHECKING:
    from cxdata.warehouse.core import Warehouse

KEYS_PREFIX = "_cxkeys_"


def key_frame(keys: pl.DataFrame | pl.LazyFrame, on: list[str], what: str) -> pl.DataFrame:
    """The distinct key tuples of ``keys`` on columns ``on``, without any that has a null; ``what`` names the
    caller in errors."""
    if not isinstance(keys, (pl.DataFrame, pl.LazyFrame)):
        raise WarehouseError(f"{what}: keys must be a polars DataFrame or LazyFrame, got {type(keys).__name__}")
    if not on:
        raise WarehouseError(f"{what}: name at least one key column")
    for column in on:
        check_name(column, "column")
    frame = keys.collect() if isinstance(keys, pl.LazyFrame) else keys
    missing = [column for column in on if column not in frame.columns]
    if missing:
        raise WarehouseError(f"{what}: the keys frame has no column(s) {missing}; it has {frame.columns}")
    return frame.select(on).drop_nulls().unique()


def create_keys_table(wh: Warehouse, conn: sa.Connection, keys: pl.DataFrame) -> str:
    """Load ``keys`` (from `key_frame`) into a new temporary table inside ``conn``'s open transaction; its quoted
    name, for `in_keys` and `drop_keys_table`."""
    name = f"{KEYS_PREFIX}{uuid.uuid4().hex[:16]}"
    table_sql = f"temp.main.{wh._quote(name)}" if wh.dialect == DUCKDB else f"pg_temp.{wh._quote(name)}"
    columns = warehouse_columns(keys.schema, wh.dialect)
    definition = ", ".join(f"{wh._quote(column)} {kind}" for column, kind in columns.items())
    dropped = " ON COMMIT DROP" if wh.dialect == POSTGRESQL else ""
    wh._ddl(conn, f"CREATE TEMPORARY TABLE {wh._quote(name)} ({definition}){dropped}")
    loaders.bulk_load(conn, wh.dialect, table_sql, stored_frame(keys))
    if wh.dialect == POSTGRESQL:
        # temporary tables get no autovacuum statistics; without them a big key table may be planned as tiny
        wh._ddl(conn, f"ANALYZE {table_sql}")
    return table_sql


def drop_keys_table(wh: Warehouse, conn: sa.Connection, table_sql: str) -> None:
    """Drop a table of `create_keys_table` once its statements ran."""
    wh._ddl(conn, f"DROP TABLE IF EXISTS {table_sql}")


@contextmanager
def staged_keys(wh: Warehouse, conn: sa.Connection, keys: pl.DataFrame) -> Iterator[str]:
    """`create_keys_table` for the length of a block; yields the table's quoted name."""
    table_sql = create_keys_table(wh, conn, keys)
    # not in a finally: after an error the caller rolls the transaction back, and the table with it
    yield table_sql
    drop_keys_table(wh, conn, table_sql)


def in_keys(wh: Warehouse, on: list[str], keys_sql: str) -> sa.ColumnElement[bool]:
    """The condition that a row's columns ``on`` equal one key tuple of the staged table ``keys_sql``."""
    columns = [sa.literal_column(wh._quote(column)) for column in on]
    subquery = sa.select(*columns).select_from(sa.text(keys_sql))
    if len(columns) == 1:
        return columns[0].in_(subquery)
    return sa.tuple_(*columns).in_(subquery)


@contextmanager
def row_filter(
    wh: Warehouse,
    conn: sa.Connection,
    where: Mapping[str, Any],
    where_in: pl.DataFrame | pl.LazyFrame | None,
    shard: Shard | None,
    shard_by: str,
) -> Iterator[tuple[str, list[Any] | dict[str, Any]]]:
    """The WHERE condition of a read (empty when it keeps every row) and its parameters in the driver's style
    (a list on DuckDB, a dict on PostgreSQL); keys of ``where_in`` are staged for as long as the block runs."""
    conditions: list[sa.ColumnElement[bool]] = [
        # NullType: bind the value as given; a typed bind would make PostgreSQL cast it (an aware datetime to a
        # naive one, for instance). None matches null, as in `Transaction.append`'s replace.
        sa.literal_column(wh._quote(column)).is_(None)
        if value is None
        else sa.literal_column(wh._quote(column)) == sa.bindparam(f"w{i}", value, type_=sa.types.NullType())
        for i, (column, value) in enumerate(where.items())
    ]
    if shard is not None:
        conditions.append(shard_condition(wh.dialect, wh._quote(check_name(shard_by, "column")), shard))
    if where_in is None:
        yield _compiled(wh, conditions)
        return
    keys = key_frame(where_in, list(where_in.collect_schema().names()), "reading with where_in")
    with staged_keys(wh, conn, keys) as keys_sql:
        yield _compiled(wh, [*conditions, in_keys(wh, keys.columns, keys_sql)])


def _compiled(wh: Warehouse, conditions: list[sa.ColumnElement[bool]]) -> tuple[str, list[Any] | dict[str, Any]]:
    if not conditions:
        return "", ([] if wh.dialect == DUCKDB else {})
    compiled = sa.and_(*conditions).compile(dialect=wh.engine.dialect)
    values = compiled.construct_params()
    if wh.dialect == DUCKDB:
        return compiled.string, [values[key] for key in compiled.positiontup or []]
    return compiled.string, values
