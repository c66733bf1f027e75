"""Reading tables and query results into polars frames with exact dtypes.

DuckDB hands over Arrow directly. A PostgreSQL table is read with one
``COPY (select ...) TO STDOUT`` in CSV, each column in a form polars parses
exactly (see ``types.postgres_read_column``), under a pinned DateStyle and time
zone. Ad hoc PostgreSQL queries go through the driver and are typed from the
result's type OIDs.

Every frame comes back with one chunk per column.
"""

from __future__ import annotations

import io
from functools import partial
from typing import Any

import polars as pl
import sqlalchemy as sa
from psycopg.types.string import TextLoader

from cxdata.warehouse.identifiers import quote as quote_identifier
from cxdata.warehouse.types import (
    PG_NUMERIC_OID,
    PG_OID_DTYPES,
    PG_TEXT_OIDS,
    postgres_read_column,
)

# The catalog view of a table's columns, base types of domains resolved.
PG_COLUMNS_SQL = sa.text(
    """
    select a.attname as name,
           bt.typname as type_name,
           case when t.typtype = 'd' then t.typtypmod else a.atttypmod end as typmod
    from pg_catalog.pg_attribute a
    join pg_catalog.pg_class c on c.oid = a.attrelid
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    join pg_catalog.pg_type t on t.oid = a.atttypid
    join pg_catalog.pg_type bt on bt.oid = case when t.typtype = 'd' then t.typbasetype else t.oid end
    where n.nspname = :schema and c.relname = :name and a.attnum > 0 and not a.attisdropped
    order by a.attnum
    """
)


def postgres_table(
    conn: sa.Connection,
    table_sql: str,
    columns: list[tuple[str, str, int]],
    condition: str = "",
    params: dict[str, Any] | None = None,
    limit: int | None = None,
) -> pl.DataFrame:
    """Read a PostgreSQL table, given its (name, base type name, typmod) columns from the catalog; ``condition``
    (driver-level SQL with ``%(name)s`` placeholders) keeps the rows it holds for, with ``params`` bound by the
    driver; ``limit`` caps the rows."""
    quote = partial(quote_identifier, conn.dialect)
    plans = [postgres_read_column(type_name, typmod) for _, type_name, typmod in columns]
    # Positional aliases keep user column names out of the CSV; the leading
    # constant keeps a one-column row of NULL from becoming an empty line.
    names = [name for name, _, _ in columns]
    pairs = list(enumerate(zip(names, plans, strict=True)))
    selects = ["1"] + [f"{plan.select.format(c=quote(name))} AS c{i}" for i, (name, plan) in pairs]
    filtered = f" WHERE {condition}" if condition else ""
    capped = f" LIMIT {int(limit)}" if limit is not None else ""
    statement = (
        f"COPY (SELECT {', '.join(selects)} FROM {table_sql}{filtered}{capped}) TO STDOUT WITH (FORMAT csv)"
    )
    buffer = io.BytesIO()
    raw = conn.connection.driver_connection
    with raw.cursor() as cursor:
        # Pin the text forms the CSV is parsed with, for this transaction only.
        cursor.execute("SET LOCAL DateStyle TO 'ISO, YMD'")
        cursor.execute("SET LOCAL TimeZone TO 'UTC'")
        # without parameters psycopg leaves the statement as is, so a condition's doubled '%' would stay doubled
        with cursor.copy(statement, params or None) as copy:
            for block in copy:
                buffer.write(block)
    csv_schema = pl.Schema({"_": pl.Int32(), **{f"c{i}": plan.csv_dtype for i, plan in enumerate(plans)}})
    if buffer.tell() == 0:
        raw_frame = pl.DataFrame(schema=csv_schema)
    else:
        raw_frame = pl.read_csv(buffer.getvalue(), has_header=False, schema=csv_schema, empty_string_is_null=True)
    frame = pl.DataFrame([plan.finish(raw_frame.get_column(f"c{i}")).alias(name) for i, (name, plan) in pairs])
    return _one_chunk(frame)


def postgres_query(conn: sa.Connection, statement: str, params: dict[str, Any]) -> pl.DataFrame:
    """Run driver-level SQL (``%(name)s`` placeholders) on PostgreSQL; rows come back as a typed frame."""
    raw = conn.connection.driver_connection
    with raw.cursor() as cursor:
        for oid in PG_TEXT_OIDS:
            cursor.adapters.register_loader(oid, TextLoader)
        cursor.execute(statement, params)
        if cursor.description is None:
            return pl.DataFrame()
        rows = cursor.fetchall()
        description = list(cursor.description)
    names = [column.name for column in description]
    if len(set(names)) != len(names):
        raise ValueError(f"the query returns duplicate column names {names}; give each column its own alias")
    values = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    return pl.DataFrame(
        [
            pl.Series(column.name, column_values, dtype=_query_dtype(column), strict=False)
            for column, column_values in zip(description, values, strict=True)
        ]
    )


def _query_dtype(column: Any) -> pl.DataType | None:
    if column.type_code == PG_NUMERIC_OID:
        if column.precision is not None and column.precision <= 38:
            return pl.Decimal(column.precision, column.scale or 0)
        return None  # let polars find a scale that holds every value
    return PG_OID_DTYPES.get(column.type_code)


def duckdb_query(conn: sa.Connection, statement: str, params: list[Any]) -> pl.DataFrame:
    """Run driver-level SQL (``$n`` placeholders) on DuckDB; rows come back as a frame via Arrow."""
    raw = conn.connection.driver_connection
    quote = partial(quote_identifier, conn.dialect)
    if params:
        # with parameters DuckDB materialises a relation whose conversion is ten times slower than a
        # cursor's (8.7 vs 0.8 s for 6M identity rows); without them the lazy relation is the faster one
        cursor = raw.execute(statement, params)
        intervals = [name for name, kind, *_ in cursor.description or [] if str(kind) == "INTERVAL"]
        if intervals:
            epochs = ", ".join(f"epoch_us({quote(name)}) AS {quote(name)}" for name in intervals)
            cursor = raw.execute(f"SELECT * REPLACE ({epochs}) FROM ({statement})", params)
        frame = cursor.pl()
    else:
        relation = raw.sql(statement)
        if relation is None:
            return pl.DataFrame()
        kinds = dict(zip(relation.columns, map(str, relation.types), strict=True))
        intervals = [name for name, kind in kinds.items() if kind == "INTERVAL"]
        if intervals:
            # Arrow's month-day-nano intervals have no polars dtype; microseconds do.
            relation = relation.project(
                ", ".join(
                    f"epoch_us({quote(name)}) AS {quote(name)}" if name in intervals else quote(name)
                    for name in relation.columns
                )
            )
        frame = relation.pl()
    fixes = [pl.col(name).cast(pl.Duration("us")) for name in intervals] + [
        pl.col(name).dt.convert_time_zone("UTC")
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Datetime) and dtype.time_zone not in (None, "UTC")
    ]
    return _one_chunk(frame.with_columns(fixes) if fixes else frame)


def _one_chunk(frame: pl.DataFrame) -> pl.DataFrame:
    # polars' streaming filter leaves a zero-length chunk where a chunk of a multi-chunk frame has no
    # matching row, and `pl.format` indexes into that empty chunk and panics ("assertion failed:
    # i < self.len()", polars 2.1). The parallel CSV parse cuts a PostgreSQL table into several chunks and
    # DuckDB's Arrow export cuts a result into row groups; a frame in one chunk is only ever sliced into
    # morsels of one chunk each, so no plan over a warehouse read meets an empty chunk.
    return frame.rechunk()
