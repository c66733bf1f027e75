"""Read-only warehouse access for serving: open the warehouse read-only, name its tables, stream query results.

Statements are SQLAlchemy expressions: table and column names come from this
package (never from a caller) and are always quoted by the dialect, and every
value a caller gives (segment name, day, key, cursor) is a bound parameter.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import weakref
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import duckdb
import polars as pl
import sqlalchemy as sa
from sqlalchemy.sql import quoted_name

from cxdata.config import day_problem
from cxdata.errors import CxdataError
from cxdata.warehouse import Warehouse, WarehouseError
from cxdata.warehouse.errors import describe_cause, safe_url
from cxdata.warehouse.types import DUCKDB, PG_NUMERIC_OID, PG_OID_DTYPES

# Longer than any segment name, customer key or channel the pipeline writes; longer input is refused
# before it reaches the warehouse instead of being sent as a pointless bound value.
MAX_VALUE_LENGTH = 256
# A batch is held in memory whole: far bigger ones would stop an export from streaming.
MAX_BATCH_ROWS = 10_000_000
_PG_READ_ONLY = "-c default_transaction_read_only=on"
_NO_PROGRESS_BAR = "SET enable_progress_bar = false"
# A publish (new table, columns, scoring moment or segment) reaches requests at most this late.
CACHE_SECONDS = 10.0
# A served DuckDB file is closed this long after its last query, so a pipeline can publish to it.
IDLE_CLOSE_SECONDS = 0.5
_memos: weakref.WeakKeyDictionary[Warehouse, dict[Hashable, tuple[float, Any]]] = weakref.WeakKeyDictionary()
T = TypeVar("T")
_DRIVER_ERRORS = (sa.exc.SQLAlchemyError, duckdb.Error)


class ServeError(CxdataError):
    """A request for served data cannot be answered; the message says why and what would work."""


class NotPublished(ServeError):
    """A table the request needs is not in the warehouse yet; ``table`` names it."""

    def __init__(self, message: str, table: str) -> None:
        super().__init__(message)
        self.table = table


class BadValue(ServeError):
    """A value given by the caller cannot be valid (control characters, too long, not a day)."""


def read_only_url(url: str | sa.URL) -> sa.URL:
    """``url`` with the option that makes every session read-only (DuckDB access_mode, PostgreSQL
    default_transaction_read_only), so a served request can never write."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == DUCKDB:
        return parsed.update_query_dict({"access_mode": "read_only"})
    options = parsed.query.get("options")
    options = " ".join(options) if isinstance(options, tuple) else options
    combined = f"{options} {_PG_READ_ONLY}" if options else _PG_READ_ONLY
    return parsed.update_query_dict({"options": combined})


def open_read_only(url: str | sa.URL, schema: str | None = None) -> Warehouse:
    """A Warehouse on ``url`` (and ``schema``) whose sessions refuse every write. On DuckDB its connections close
    once no query has run for IDLE_CLOSE_SECONDS, so a pipeline can take the file to publish between requests."""
    wh = Warehouse(read_only_url(url), schema=schema)
    if wh.dialect == DUCKDB:
        # DuckDB draws a progress bar on stdout for long queries; not on a server's or the CLI's output.
        sa.event.listen(wh.engine, "connect", lambda connection, _record: connection.execute(_NO_PROGRESS_BAR))
        wh.engine.dispose()  # the connection opened while checking the schema has no listener yet
        _close_when_idle(wh.engine)
    return wh


def _close_when_idle(engine: sa.Engine) -> None:
    # DuckDB lets a process write the file only while no other process has it open at all, so a pool kept for the
    # server's lifetime would lock the nightly run out. Closing after every query would free it too, but then each
    # query reopens the file and rereads its blocks (2 to 4 times slower at 500,000 customers): keep the pool for a
    # burst of requests and close it in the first quiet moment.
    lock = threading.Lock()
    state = {"checked_out": 0, "generation": 0}

    def close_if_still_idle(generation: int) -> None:
        with lock:
            if state["checked_out"] == 0 and state["generation"] == generation:
                engine.dispose()

    def checkout(*_args: Any) -> None:
        with lock:
            state["checked_out"] += 1
            state["generation"] += 1

    def checkin(*_args: Any) -> None:
        with lock:
            state["checked_out"] -= 1
            if state["checked_out"]:
                return
            timer = threading.Timer(IDLE_CLOSE_SECONDS, close_if_still_idle, (state["generation"],))
        timer.daemon = True
        timer.start()

    sa.event.listen(engine, "checkout", checkout)
    sa.event.listen(engine, "checkin", checkin)


def check_value(value: str, what: str, personal: bool = False) -> str:
    """``value`` when it could be a ``what`` the pipeline wrote, else a BadValue naming ``what`` (and quoting
    ``value``, unless it is ``personal`` data)."""
    if len(value) > MAX_VALUE_LENGTH:
        raise BadValue(f"{what} is {len(value)} characters long; at most {MAX_VALUE_LENGTH} are accepted")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        # PostgreSQL text cannot hold NUL at all; no name or key has control characters.
        raise BadValue(f"{what} {'' if personal else shown(value) + ' '}contains control characters")
    return value


def shown(value: str, width: int = 60) -> str:
    """``value`` quoted for a message, cut to ``width`` characters."""
    return repr(value if len(value) <= width else value[:width] + "…")


def parse_day(text: str | None, what: str = "as_of") -> dt.date | None:
    """The day ``text`` (YYYY-MM-DD), None for None, else a BadValue naming ``what``."""
    if text is None:
        return None
    try:
        day = dt.date.fromisoformat(check_value(text, what))
    except ValueError:
        raise BadValue(f"{what} must be a day as YYYY-MM-DD, got {shown(text)}") from None
    problem = day_problem(day)
    if problem is not None:
        raise BadValue(f"{what} {problem}")
    return day


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The UTC moments a day starts at and the next day starts at (the last moment there is for 9999-12-31)."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    if day == dt.date.max:
        return start, dt.datetime.max.replace(tzinfo=dt.UTC)
    return start, start + dt.timedelta(days=1)


def table(wh: Warehouse, name: str, *columns: str) -> sa.TableClause:
    """Table ``name`` of the warehouse schema with ``columns``, every identifier always quoted."""
    return sa.table(
        quoted_name(name, True),
        *(sa.column(quoted_name(column, True)) for column in columns),
        schema=quoted_name(wh.schema, True),
    )


def remembered(wh: Warehouse, key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, kept per warehouse under ``key`` for CACHE_SECONDS: the catalog, the latest scoring moment
    and the segment names change only when the pipeline publishes, yet cost a query each on every request."""
    now = time.monotonic()
    memo = _memos.setdefault(wh, {})
    held = memo.get(key)
    if held is not None and now - held[0] < CACHE_SECONDS:
        return held[1]
    value = compute()
    memo[key] = (now, value)
    return value


def forget_remembered(wh: Warehouse) -> None:
    """Drop what `remembered` keeps for ``wh``: for a writer (a sync) that must see what was just published."""
    _memos.pop(wh, None)


def columns_of(wh: Warehouse) -> dict[str, list[str]]:
    """Table (or view) name to its columns in order, for the warehouse schema (one catalog query, remembered)."""
    return remembered(wh, "catalog", lambda: _catalog(wh))


def _catalog(wh: Warehouse) -> dict[str, list[str]]:
    listing = sa.table(
        "columns",
        sa.column("table_name"),
        sa.column("column_name"),
        sa.column("ordinal_position"),
        sa.column("table_schema"),
        schema="information_schema",
    )
    statement = (
        sa.select(listing.c.table_name, listing.c.column_name)
        .where(listing.c.table_schema == wh.schema)
        .order_by(listing.c.table_name, listing.c.ordinal_position)
    )
    if wh.dialect == DUCKDB:
        statement = statement.where(sa.column("table_catalog") == sa.func.current_database())
    try:
        with wh.engine.connect() as conn:
            rows = conn.execute(statement).all()
    except _DRIVER_ERRORS as exc:
        raise _failure(wh, exc) from exc
    found: dict[str, list[str]] = {}
    for table_name, column_name in rows:
        found.setdefault(table_name, []).append(column_name)
    return found


def exists(wh: Warehouse, name: str) -> bool:
    """Whether table ``name`` is in the warehouse schema, per the catalog of columns_of."""
    return name in columns_of(wh)


def require(wh: Warehouse, name: str, hint: str) -> list[str]:
    """The columns of table ``name``; NotPublished (with ``hint`` on how to get it) when it is missing."""
    found = columns_of(wh).get(name)
    if found is None:
        raise NotPublished(f"table {name!r} has not been published to the warehouse yet: {hint}", name)
    return found


@dataclass(frozen=True)
class Stream:
    """A query result in batches: its column names and dtypes up front, then frames of at most batch_rows."""

    schema: pl.Schema
    batches: Iterator[pl.DataFrame]


@contextmanager
def stream(wh: Warehouse, statement: sa.Select, batch_rows: int = 50_000) -> Iterator[Stream]:
    """Run ``statement`` and hand its rows over in frames, never the whole result at once: DuckDB's Arrow
    reader, or a PostgreSQL server-side cursor. The connection is held until the block exits."""
    if not 1 <= batch_rows <= MAX_BATCH_ROWS:
        raise BadValue(f"batch_rows must be a whole number from 1 to {MAX_BATCH_ROWS:,}, got {batch_rows}")
    try:
        with wh.engine.connect() as conn:
            yield from _streams(wh, conn, statement, batch_rows)
    except _DRIVER_ERRORS as exc:
        raise _failure(wh, exc) from exc


def _failure(wh: Warehouse, exc: BaseException) -> WarehouseError:
    # The cause without SQL text or bound values: those may hold what a caller typed.
    cause = describe_cause(exc, wh.engine.url)
    return WarehouseError(f"query on schema {wh.schema!r} of {safe_url(wh.engine.url)} failed: {cause}")


def _streams(wh: Warehouse, conn: sa.Connection, statement: sa.Select, batch_rows: int) -> Iterator[Stream]:
    if wh.dialect == DUCKDB:
        compiled = statement.compile(dialect=wh.engine.dialect)
        values = compiled.construct_params()
        positional = [values[key] for key in compiled.positiontup or []]
        # execute (not the relation API, which runs the query again for Arrow) and read Arrow batches
        reader = conn.connection.driver_connection.execute(compiled.string, positional).to_arrow_reader(batch_rows)
        schema = pl.from_arrow(reader.schema.empty_table()).schema
        yield Stream(schema, (pl.from_arrow(batch).cast(schema) for batch in reader))
        return
    result = conn.execution_options(stream_results=True, yield_per=batch_rows).execute(statement)
    schema = pl.Schema({column.name: _pg_dtype(column.type_code) for column in result.cursor.description})
    yield Stream(schema, (_frame(rows, schema) for rows in result.partitions()))


def _pg_dtype(oid: int) -> pl.DataType:
    if oid == PG_NUMERIC_OID:
        return pl.Float64()
    return PG_OID_DTYPES.get(oid, pl.String())


def _frame(rows: list[sa.Row], schema: pl.Schema) -> pl.DataFrame:
    columns = list(zip(*rows, strict=True))
    return pl.DataFrame(
        [
            pl.Series(name, values, dtype=dtype, strict=False)
            for (name, dtype), values in zip(schema.items(), columns, strict=True)
        ]
    )


def fetch(wh: Warehouse, statement: sa.Select) -> pl.DataFrame:
    """The whole result of ``statement`` as one frame: for small answers (a page, a list, one customer)."""
    with stream(wh, statement) as result:
        frames = list(result.batches)
    return pl.concat(frames) if frames else pl.DataFrame(schema=result.schema)
