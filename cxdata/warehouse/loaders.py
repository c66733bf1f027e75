"""Bulk loading of a frame into an empty staging table: an Arrow scan on DuckDB, COPY on PostgreSQL.

Rows never travel as individual INSERT statements: DuckDB reads the Arrow buffers
in place, PostgreSQL receives binary COPY data built in chunks (`cxdata.warehouse.pgbinary`), or CSV that
polars writes for frames with numeric columns.
"""

from __future__ import annotations

import io
import uuid
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import polars as pl
import sqlalchemy as sa

from cxdata.warehouse import pgbinary
from cxdata.warehouse.identifiers import quote as quote_identifier
from cxdata.warehouse.types import DUCKDB, csv_frame

# Big enough that per-chunk overhead vanishes, small enough that the COPY data of
# one chunk (tens of MB for wide frames) stays modest in memory.
CHUNK_ROWS = 100_000
# DuckDB's row group size: record batches of this many rows spread an Arrow scan over every thread.
DUCKDB_BATCH_ROWS = 122_880


def bulk_load(
    conn: sa.Connection, dialect: str, table_sql: str, stored: pl.DataFrame, keep_order: bool = True
) -> None:
    """Append every row of ``stored`` to the table ``table_sql`` (already quoted) inside ``conn``'s transaction.

    ``keep_order=False`` lets DuckDB store the rows in any order, which loads on every core (about a third
    faster for millions of rows); tables whose row order something downstream relies on keep it.
    """
    if dialect == DUCKDB:
        _load_duckdb(conn, table_sql, stored, keep_order)
    else:
        _load_postgres(conn, table_sql, stored)


def _load_duckdb(conn: sa.Connection, table_sql: str, stored: pl.DataFrame, keep_order: bool) -> None:
    raw = conn.connection.driver_connection
    view = f"_cxload_{uuid.uuid4().hex}"
    if stored.height > DUCKDB_BATCH_ROWS:
        # DuckDB scans one Arrow record batch per thread: a frame in one chunk (what a collect or rechunk
        # leaves) would load on a single core, twice as slow on two. Slices are views, nothing is copied.
        stored = pl.concat(
            [stored.slice(start, DUCKDB_BATCH_ROWS) for start in range(0, stored.height, DUCKDB_BATCH_ROWS)],
            rechunk=False,
        )
    # The newest Arrow level hands polars' string views over without copying every string
    # into a large_string buffer first: at 10M rows that copy costs seconds and ~1.5 GB.
    raw.register(view, stored.to_arrow(compat_level=pl.CompatLevel.newest()))
    try:
        if not keep_order:
            raw.execute("SET preserve_insertion_order = false")
        # BY NAME matches columns by name and lets DuckDB cast Arrow types to the declared ones.
        raw.execute(f"INSERT INTO {table_sql} BY NAME SELECT * FROM {view}")
    finally:
        if not keep_order:
            raw.execute("RESET preserve_insertion_order")
        raw.unregister(view)


def _csv_chunk(chunk: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    # polars writes null as an empty field and "" as a quoted empty string,
    # which is exactly how COPY's CSV format tells them apart.
    chunk.write_csv(buffer, include_header=False)
    return buffer.getvalue()


def _load_postgres(conn: sa.Connection, table_sql: str, stored: pl.DataFrame) -> None:
    quote = partial(quote_identifier, conn.dialect)
    columns = ", ".join(quote(column) for column in stored.columns)
    binary = pgbinary.encodable(stored.schema)
    # FREEZE writes the rows already frozen: allowed because the table was
    # created in this transaction, and it spares a later vacuum rewriting them.
    statement = f"COPY {table_sql} ({columns}) FROM STDIN WITH (FORMAT {'binary' if binary else 'csv'}, FREEZE)"
    source, render_chunk = (stored, pgbinary.encode_rows) if binary else (csv_frame(stored), _csv_chunk)
    raw = conn.connection.driver_connection
    # the next chunk is rendered while psycopg sends the current one; both
    # release the GIL, so the two overlap on separate cores.
    with ThreadPoolExecutor(max_workers=1) as render, raw.cursor() as cursor, cursor.copy(statement) as copy:
        if binary:
            copy.write(pgbinary.HEADER)
        chunks = source.iter_slices(CHUNK_ROWS)
        pending = render.submit(render_chunk, next(chunks)) if source.height else None
        while pending is not None:
            data = pending.result()
            following = next(chunks, None)
            pending = render.submit(render_chunk, following) if following is not None else None
            copy.write(data)
        if binary:
            copy.write(pgbinary.TRAILER)
