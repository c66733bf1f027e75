"""One warehouse transaction that replaces tables and appends to logs: readers see all of it or none of it.

    with wh.transaction() as tx:
        tx.publish("customer_scores", scores)                                   # replaces the table
        tx.append("customer_scores_history", scores, replace={"as_of": as_of})  # deletes those rows, inserts
        tx.append("model_runs", record)                                         # inserts
        tx.replace_keys("customer_identity", rows, on=["customer_key"], keys=touched)  # those keys' rows

Each call loads its rows at once into a staging table created inside the open
transaction (so its frame can be freed; rows appended to a table that exists go
to a temporary one, which writes neither the database file nor the WAL, since
they are copied into the live table anyway), and nothing is visible to anyone else
until the block ends: then the replaced tables are swapped in (PostgreSQL
recreates the views and grants on them, `cxdata.warehouse.dependents`) and the
appends run as ``DELETE`` + ``INSERT ... SELECT`` into the live table, all in
that same transaction (a keyed replace's ``DELETE`` joins a table of keys staged
in it, `cxdata.warehouse.keyed`). An exception or a killed process rolls everything back,
staging tables included, since they were never committed.

Appends are real INSERTs, so concurrent writers to one log keep every row. On
PostgreSQL an append takes a transaction-scoped advisory lock on its table
before it adds columns or deletes the rows it replaces; DuckDB is a single-writer
file, and in one process its writing transactions take turns.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl
import sqlalchemy as sa

from cxdata.faults import crash_point
from cxdata.warehouse import comments, dependents, indexes, keyed, loaders
from cxdata.warehouse.errors import WarehouseError, describe_cause
from cxdata.warehouse.identifiers import MAX_IDENTIFIER_LENGTH, STAGING_PREFIX, check_name
from cxdata.warehouse.types import DUCKDB, POSTGRESQL, stored_frame, warehouse_columns

if TYPE_CHECKING:
    from cxdata.warehouse.core import Warehouse

_LOCK_NOT_AVAILABLE = "55P03"
# One writing transaction per DuckDB file in a process (see _writer_lock).
_DUCKDB_LOCKS: dict[str, threading.RLock] = {}
_DUCKDB_LOCKS_GUARD = threading.Lock()


@dataclass(frozen=True)
class PublishResult:
    """What one publish or append wrote: the table, its row count, column name to warehouse type, and the time
    taken to stage it."""

    table: str
    rows: int
    columns: dict[str, str]
    seconds: float


def keep_order(name: str) -> bool:
    """Whether table ``name`` is stored in the order its rows were published: all but the marts (fct_, dim_,
    cx_) and identity's two big tables, since staged tables number identity's records in source order and
    the others are small."""
    identity = ("identity_record_keys", "customer_identity", "identity_links", "identity_record_hashes")
    return not name.startswith(("fct_", "dim_", "cx_", *identity))


@dataclass(frozen=True)
class _Staged:
    name: str
    staging: str  # quoted and qualified
    columns: dict[str, str]
    built: tuple[indexes.BuiltIndex, ...]
    documented: tuple[comments.Comment, ...]
    replace: Mapping[str, Any] | None  # None: the table is replaced; a mapping: the rows are appended
    keys: tuple[str, tuple[str, ...]] | None = None  # a keyed replace: its staged keys table and key columns
    temporary: bool = False  # staged in a temporary table, for rows appended to a table that existed


class Transaction:
    """The open transaction of `Warehouse.transaction`: stage tables now, make them visible together at the end."""

    def __init__(self, wh: Warehouse, conn: sa.Connection) -> None:
        self._wh, self._conn = wh, conn
        self._staged: list[_Staged] = []

    def publish(self, name: str, data: pl.DataFrame | pl.LazyFrame) -> PublishResult:
        """Replace table ``name`` with ``data`` when the transaction ends."""
        return self._stage(name, data, None)

    def append(
        self, name: str, rows: pl.DataFrame | pl.LazyFrame, replace: Mapping[str, Any] | None = None
    ) -> PublishResult:
        """Insert ``rows`` into table ``name`` (created when missing, new columns added) when the transaction ends,
        after deleting the rows whose columns equal every value in ``replace`` (a list or tuple value matches any
        of its items; None matches null): a rerun replaces its own rows, other runs' rows stay."""
        for column in replace or {}:
            check_name(column, "column")
        return self._stage(name, rows, dict(replace or {}))

    def replace_keys(
        self,
        name: str,
        rows: pl.DataFrame | pl.LazyFrame,
        on: list[str] | str,
        keys: pl.DataFrame | pl.LazyFrame | None = None,
    ) -> PublishResult:
        """When the transaction ends, delete the rows of table ``name`` whose columns ``on`` (a name or a list)
        equal a row of ``keys`` (default: the keys ``rows`` carry), then insert ``rows``, under the same lock
        as `append` (the table is created from ``rows`` when missing, new columns added). ``keys`` is loaded
        into a temporary table and joined, so any number of keys costs no parameter per key.

        A null never equals anything: a key with a null in any of ``on`` deletes nothing, and rows of
        ``name`` with a null there are never deleted, so rows inserted with a null key stay until something
        else removes them.
        """
        check_name(name)
        on = [on] if isinstance(on, str) else list(on)
        what = f"replacing keys of table {name!r}"
        if not isinstance(rows, (pl.DataFrame, pl.LazyFrame)):
            raise WarehouseError(f"{what}: expected a polars DataFrame or LazyFrame, got {type(rows).__name__}")
        with self._wh._failing(f"collecting the frame to publish as table {name!r}"):
            frame = rows.collect() if isinstance(rows, pl.LazyFrame) else rows
        missing = [column for column in on if column not in frame.columns]
        if missing:
            raise WarehouseError(f"{what}: the rows have no key column(s) {missing}; they have {frame.columns}")
        wanted = keyed.key_frame(frame if keys is None else keys, on, what)
        try:
            wanted = wanted.cast({column: frame.schema[column] for column in on})
        except pl.exceptions.PolarsError as exc:
            dtypes = {column: str(frame.schema[column]) for column in on}
            raise WarehouseError(
                f"{what}: the keys do not convert to the rows' key dtypes {dtypes}: {exc}"
            ) from None
        with self._failing(name, "loading the keys to replace for"):
            staged_keys = keyed.create_keys_table(self._wh, self._conn, wanted)
        return self._stage(name, frame, {}, (staged_keys, tuple(on)))

    def delete_keys(self, name: str, keys: pl.DataFrame, on: list[str]) -> int:
        """Delete now, inside the open transaction, the rows of table ``name`` whose columns ``on`` equal a row
        of ``keys``; the number deleted (0 when the table or a column is missing). Others see the deletion when
        the transaction ends, with everything else in it."""
        check_name(name)
        for column in on:
            check_name(column, "column")
        wanted = keyed.key_frame(keys, on, f"deleting keys of table {name!r}")
        if wanted.is_empty() or not self._lock_and_check(name):
            return 0
        present = {column for column, _, _ in self._wh._catalog_columns(self._conn, name)}
        if not set(on) <= present:
            return 0
        with (
            self._failing(name, "deleting keys from"),
            keyed.staged_keys(self._wh, self._conn, wanted) as keys_sql,
        ):
            table = sa.table(name, schema=self._wh.schema)
            result = self._conn.execute(sa.delete(table).where(keyed.in_keys(self._wh, on, keys_sql)))
            # DuckDB answers a DELETE with one row holding the count, and leaves rowcount at -1
            deleted = result.scalar_one() if self._wh.dialect == DUCKDB else result.rowcount
        crash_point(f"delete:{name}")
        return int(deleted)

    def _stage(
        self,
        name: str,
        data: pl.DataFrame | pl.LazyFrame,
        replace: dict[str, Any] | None,
        keys: tuple[str, tuple[str, ...]] | None = None,
    ) -> PublishResult:
        started = time.perf_counter()
        check_name(name)
        if any(staged.name == name for staged in self._staged):
            raise WarehouseError(f"table {name!r} is written twice in one transaction; combine the frames first")
        if not isinstance(data, (pl.DataFrame, pl.LazyFrame)):
            raise WarehouseError(
                f"cannot publish table {name!r}: expected a polars DataFrame or LazyFrame, "
                f"got {type(data).__name__}"
            )
        with self._wh._failing(f"collecting the frame to publish as table {name!r}"):
            frame = data.collect() if isinstance(data, pl.LazyFrame) else data
        try:
            columns = warehouse_columns(frame.schema, self._wh.dialect)
            documented = comments.comments_for(name)
        except WarehouseError as exc:
            raise WarehouseError(f"cannot publish table {name!r} to {self._wh._where()}: {exc}") from exc
        wh = self._wh
        staging = f"{STAGING_PREFIX}{uuid.uuid4().hex[:12]}_{name}"[:MAX_IDENTIFIER_LENGTH]
        # rows appended to a table that exists are inserted into it: their staging table is temporary, no index
        becomes_table = replace is None or not wh._exists(self._conn, name)
        if becomes_table:
            staging_sql, create = wh._qualified(staging), "CREATE TABLE"
        else:
            schema = "temp.main" if wh.dialect == DUCKDB else "pg_temp"
            staging_sql, create = f"{schema}.{wh._quote(staging)}", "CREATE TEMPORARY TABLE"
        with self._failing(name, "loading rows into the staging table for"):
            self._ddl(f"{create} {staging_sql} ({self._definition(columns)})")
            stored = stored_frame(frame)
            loaders.bulk_load(self._conn, wh.dialect, staging_sql, stored, keep_order(name))
            del stored
        built: list[indexes.BuiltIndex] = []  # DuckDB: none, see cxdata.warehouse.indexes
        if wh.dialect == POSTGRESQL and becomes_table:
            with self._failing(name, "indexing and analysing the staging table for"):
                built = indexes.build(self._conn, wh._quote, staging_sql, name, frame.columns)
                # Fresh statistics let BI queries plan well from the first read of the new table.
                self._ddl(f"ANALYZE {staging_sql}")
        self._staged.append(
            _Staged(name, staging_sql, columns, tuple(built), tuple(documented), replace, keys, not becomes_table)
        )
        crash_point(f"publish:{name}:staged")
        return PublishResult(name, frame.height, columns, time.perf_counter() - started)

    # -- the end of the transaction ---------------------------------------------------------

    def _finish(self) -> None:
        if self._wh.dialect != POSTGRESQL:
            self._make_visible()
            return
        for attempt in range(1, self._wh.swap_attempts + 1):
            try:
                # a savepoint, so a lock timeout undoes only the swaps and keeps what was staged
                with self._conn.begin_nested():
                    # a reader holding a table delays the swap a little, instead of queueing every later reader
                    self._ddl(f"SET LOCAL lock_timeout = '{int(self._wh.swap_lock_timeout * 1000)}ms'")
                    self._make_visible()
                return
            except WarehouseError as exc:
                cause = getattr(exc.__cause__, "orig", None)
                if getattr(cause, "sqlstate", None) != _LOCK_NOT_AVAILABLE or attempt == self._wh.swap_attempts:
                    raise
                time.sleep(0.2 * attempt)

    def _make_visible(self) -> None:
        # replaced tables first, then the logs, so an append's lock is held for the shortest time
        for staged in sorted(self._staged, key=lambda s: (s.replace is not None, s.name)):
            with self._failing(staged.name, "swapping in the new version of"):
                if staged.replace is not None and self._lock_and_check(staged.name):
                    self._insert(staged)
                elif staged.temporary:
                    # dropped since it was staged: a temporary table cannot become it, so it is created anew
                    target = self._wh._qualified(staged.name)
                    self._ddl(f"CREATE TABLE {target} ({self._definition(staged.columns)})")
                    self._insert(staged)
                else:
                    self._swap(staged)
                if staged.keys is not None:
                    keyed.drop_keys_table(self._wh, self._conn, staged.keys[0])
            crash_point(f"publish:{staged.name}:visible")

    def _swap(self, staged: _Staged) -> None:
        wh, name = self._wh, staged.name
        kept = dependents.Dependents((), ())
        if wh.dialect == POSTGRESQL:
            kept = dependents.capture(self._conn, wh.schema, name)
            dependents.drop_views(self._conn, kept)
        self._ddl(f"DROP TABLE IF EXISTS {wh._qualified(name)}")
        self._ddl(f"ALTER TABLE {staged.staging} RENAME TO {wh._quote(name)}")
        indexes.rename(self._conn, wh._quote, wh.schema, list(staged.built))
        comments.apply_comments(self._conn, wh._qualified(name), list(staged.columns), list(staged.documented))
        own = frozenset(
            (view.schema, view.name)
            for view in kept.views
            if view.schema == wh.schema and comments.defines_view(view.name)
        )
        dependents.restore(self._conn, kept, wh._qualified(name), replaceable=own)

    def _lock_and_check(self, name: str) -> bool:
        """Take the append lock of ``name`` (PostgreSQL) and say whether the table exists."""
        wh = self._wh
        if wh.dialect == POSTGRESQL:
            self._conn.execute(
                sa.text("select pg_advisory_xact_lock(hashtext(:key))"),
                {"key": f"cxdata.append:{wh.schema}.{name}"},
            )
        return wh._exists(self._conn, name)

    def _insert(self, staged: _Staged) -> None:
        wh, target = self._wh, self._wh._qualified(staged.name)
        present = {column: kind for column, kind, _ in wh._catalog_columns(self._conn, staged.name)}
        for column, kind in staged.columns.items():
            if column not in present:
                self._ddl(f"ALTER TABLE {target} ADD COLUMN {wh._quote(column)} {kind}")
                present[column] = kind
        if staged.replace:
            conditions, params = [], {}
            for i, (column, value) in enumerate(staged.replace.items()):
                if column not in present:
                    continue  # no row can match a column the table never had
                if isinstance(value, (list, tuple, set, frozenset)):
                    listed = [item for item in value if item is not None]
                    matches = sa.column(column).in_(sa.bindparam(f"p{i}", expanding=True))
                    # a None among the values matches the rows where the column is null
                    conditions.append(sa.or_(matches, sa.column(column).is_(None)) if None in value else matches)
                    params[f"p{i}"] = listed
                elif value is None:
                    conditions.append(sa.column(column).is_(None))
                else:
                    conditions.append(sa.column(column) == sa.bindparam(f"p{i}"))
                    params[f"p{i}"] = value
            if conditions:
                table = sa.table(staged.name, schema=wh.schema)
                self._conn.execute(sa.delete(table).where(*conditions), params)
        if staged.keys is not None and set(staged.keys[1]) <= set(present):
            keys_sql, on = staged.keys
            table = sa.table(staged.name, schema=wh.schema)
            self._conn.execute(sa.delete(table).where(keyed.in_keys(wh, list(on), keys_sql)))
        listed = ", ".join(wh._quote(column) for column in staged.columns)
        cast = ", ".join(f"CAST({wh._quote(column)} AS {present[column]})" for column in staged.columns)
        self._ddl(f"INSERT INTO {target} ({listed}) SELECT {cast} FROM {staged.staging}")
        self._ddl(f"DROP TABLE {staged.staging}")
        if wh.dialect == POSTGRESQL:
            # Fresh statistics, as a published table gets: rows of a new as_of that the planner has never seen
            # are estimated at one, and a nested loop over a million of them does not end (autovacuum's
            # analyze comes minutes later). ANALYZE samples a bounded number of rows, whatever the table's size.
            self._ddl(f"ANALYZE {target}")

    # -- helpers ------------------------------------------------------------------------------

    def _definition(self, columns: dict[str, str]) -> str:
        return ", ".join(f"{self._wh._quote(column)} {kind}" for column, kind in columns.items())

    def _ddl(self, statement: str) -> None:
        self._wh._ddl(self._conn, statement)

    @contextmanager
    def _failing(self, name: str, step: str) -> Iterator[None]:
        try:
            yield
        except WarehouseError:
            raise
        except Exception as exc:
            raise WarehouseError(
                f"publishing table {name!r} to schema {self._wh.schema!r} of {self._wh._where()} failed while "
                f"{step} it; nothing of this transaction is visible and the previous version, if any, is "
                f"unchanged: {describe_cause(exc, self._wh.engine.url)}"
            ) from exc


@contextmanager
def transaction(wh: Warehouse) -> Iterator[Transaction]:
    """Open a `Transaction` on ``wh``; everything staged in the block becomes visible together when it ends."""
    with _writer_lock(wh), wh.engine.connect() as conn:
        tx = Transaction(wh, conn)
        outer = conn.begin()
        try:
            yield tx
            tx._finish()
            outer.commit()
        finally:
            if outer.is_active:
                outer.rollback()


@contextmanager
def _writer_lock(wh: Warehouse) -> Iterator[None]:
    # DuckDB's snapshot isolation hides a table another transaction created after this one began, so two
    # concurrent first appends would both create it and one would fail on the conflict: one writer at a time.
    if wh.dialect != DUCKDB:
        yield
        return
    key = str(wh.engine.url.database or ":memory:")
    with _DUCKDB_LOCKS_GUARD:
        lock = _DUCKDB_LOCKS.setdefault(key, threading.RLock())
    with lock:
        yield


def drop_stale_staging(wh: Warehouse) -> list[str]:
    """Drop the staging tables a killed process left behind; the names dropped.

    Staging tables live only inside the transaction that creates them, so any one another session can see
    was committed by an older version or survived a crash: none is ever in use.
    """
    with wh._failing("listing stale staging tables"), wh.engine.begin() as conn:
        stale = [name for name in wh._base_tables(conn) if name.startswith(STAGING_PREFIX)]
        for name in stale:
            wh._ddl(conn, f"DROP TABLE IF EXISTS {wh._qualified(name)}")
    return stale
