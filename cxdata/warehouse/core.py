"""The Warehouse: one interface over DuckDB and PostgreSQL for publishing and reading polars frames."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import sqlalchemy as sa
from polars.io.plugins import register_io_source

from cxdata.warehouse import keyed, readers
from cxdata.warehouse.errors import WarehouseError, describe_cause, safe_url
from cxdata.warehouse.identifiers import STAGING_PREFIX, check_name, quote
from cxdata.warehouse.transaction import PublishResult, Transaction, drop_stale_staging, keep_order, transaction
from cxdata.warehouse.types import DUCKDB, POSTGRESQL

if TYPE_CHECKING:
    from cxdata.shards import Shard

__all__ = ["PublishResult", "Warehouse", "keep_order"]


def _normalise_url(url: str | sa.URL) -> sa.URL:
    parsed = sa.make_url(url)
    # psycopg2 is not installed; a bare postgresql:// would pick it by default.
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


class Warehouse:
    """A DuckDB file or a PostgreSQL database, one schema of which receives every table published through it.

    ``schema`` is created when missing and is where every read and write goes:
    sessions get it as their PostgreSQL search_path or DuckDB default schema, so
    unqualified names in ``query`` resolve there. Sessions run in UTC. Use it as a
    context manager, or call ``dispose``, to close the pooled connections.

    On PostgreSQL the swap waits at most ``swap_lock_timeout`` seconds for readers
    holding the old table and retries ``swap_attempts`` times, so a long-running
    BI query delays a publish instead of queueing every other reader behind it.
    Views on a published PostgreSQL table and the table's grants are recreated
    inside the swap (`cxdata.warehouse.dependents`); DuckDB binds views by name
    and has no grants. An in-memory DuckDB (``duckdb:///:memory:``) is one database
    per thread; use a file to share it.
    """

    swap_lock_timeout: float = 5.0
    swap_attempts: int = 5

    def __init__(self, url: str | sa.URL, schema: str | None = None) -> None:
        parsed = _normalise_url(url)
        if parsed.get_backend_name() not in (DUCKDB, POSTGRESQL):
            raise WarehouseError(
                f"unsupported warehouse URL {safe_url(parsed)}: use duckdb:///path/file.duckdb or postgresql://..."
            )
        self.dialect: str = parsed.get_backend_name()
        self._requested_schema = None if schema is None else check_name(schema, "schema")
        database = parsed.database or ""
        created: Path | None = None
        if self.dialect == DUCKDB and database not in ("", ":memory:") and not database.startswith("md:"):
            path = Path(database).expanduser()
            # the file holds personal data: a folder we create is the owner's alone (DuckDB's WAL lands there too)
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            created = None if path.exists() else path
        self.engine: sa.Engine = sa.create_engine(parsed, pool_pre_ping=self.dialect == POSTGRESQL)
        sa.event.listen(self.engine, "connect", self._configure_session)
        try:
            self.schema: str = self._ensure_schema()
            if created is not None and created.exists():
                created.chmod(0o600)  # DuckDB creates it with the process umask, usually readable by everyone
        except Exception as exc:
            self.engine.dispose()
            raise WarehouseError(
                f"could not open the warehouse at {self._where()} (schema {schema or 'default'}): "
                f"{describe_cause(exc, self.engine.url)}"
            ) from exc

    # -- session and schema ---------------------------------------------------------

    def _configure_session(self, dbapi_connection: Any, _record: Any) -> None:
        # UTC sessions make date_trunc and friends on timestamptz mean the same on every machine.
        if self.dialect == DUCKDB:
            dbapi_connection.execute("SET TimeZone = 'UTC'")
            if self._requested_schema is not None:
                # Create only when missing, so read-only database files still open.
                found = dbapi_connection.execute(
                    "select count(*) from duckdb_schemas() where database_name = current_database()"
                    " and schema_name = ?",
                    [self._requested_schema],
                ).fetchone()[0]
                if not found:
                    dbapi_connection.execute(f"CREATE SCHEMA IF NOT EXISTS {self._quote(self._requested_schema)}")
                dbapi_connection.execute(f"SET schema = '{self._requested_schema}'")
            return
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET TimeZone TO 'UTC'")
            if self._requested_schema is not None:
                cursor.execute(f"SET search_path TO {self._quote(self._requested_schema)}")
        dbapi_connection.commit()

    def _ensure_schema(self) -> str:
        with self.engine.begin() as conn:
            if self._requested_schema is None:
                return conn.execute(sa.text("select current_schema()")).scalar_one()
            if self.dialect == POSTGRESQL:
                # Checking first avoids needing CREATE on the database when the schema already exists.
                found = conn.execute(
                    sa.text("select 1 from pg_catalog.pg_namespace where nspname = :schema"),
                    {"schema": self._requested_schema},
                ).first()
                if found is None:
                    self._ddl(conn, f"CREATE SCHEMA IF NOT EXISTS {self._quote(self._requested_schema)}")
            return self._requested_schema

    # -- helpers --------------------------------------------------------------------

    def _quote(self, name: str) -> str:
        return quote(self.engine.dialect, name)

    def _qualified(self, name: str) -> str:
        return f"{self._quote(self.schema)}.{self._quote(name)}"

    def _where(self) -> str:
        return safe_url(self.engine.url)

    @staticmethod
    def _ddl(conn: sa.Connection, statement: str) -> None:
        # Identifiers may legally contain '%' or ':', which text() or the driver would read as placeholders.
        conn.exec_driver_sql(statement, execution_options={"no_parameters": True})

    @contextmanager
    def _failing(self, what: str) -> Iterator[None]:
        try:
            yield
        except WarehouseError:
            raise
        except Exception as exc:
            cause = describe_cause(exc, self.engine.url)
            raise WarehouseError(f"{what} in schema {self.schema!r} of {self._where()} failed: {cause}") from exc

    def _require(self, conn: sa.Connection, name: str) -> None:
        if not self._exists(conn, name):
            raise WarehouseError(f"table {name!r} does not exist in schema {self.schema!r} of {self._where()}")

    def _exists(self, conn: sa.Connection, name: str) -> bool:
        found = conn.execute(
            sa.text(
                "select 1 from information_schema.tables where table_schema = :schema and table_name = :name"
                + (" and table_catalog = current_database()" if self.dialect == DUCKDB else "")
            ),
            {"schema": self.schema, "name": name},
        ).first()
        return found is not None

    # -- publishing -----------------------------------------------------------------

    def transaction(self) -> AbstractContextManager[Transaction]:
        """A transaction in which several tables are published and appended to, all visible together when the
        block ends and none of them if it fails or the process dies (`cxdata.warehouse.transaction`).

        >>> with wh.transaction() as tx:                                          # doctest: +SKIP
        ...     tx.publish("customer_scores", scores)
        ...     tx.append("customer_scores_history", scores, replace={"as_of": as_of})
        """
        return transaction(self)

    def append(
        self, name: str, rows: pl.DataFrame | pl.LazyFrame, replace: Mapping[str, Any] | None = None
    ) -> PublishResult:
        """INSERT ``rows`` into table ``name`` (created when missing) in one transaction, after deleting the rows
        whose columns equal the values in ``replace``: logs and history tables keep every run, a rerun replaces
        its own rows, and concurrent appenders keep every row.

        >>> wh.append("segment_members", members, replace={"as_of": as_of})   # doctest: +SKIP
        """
        with self.transaction() as tx:
            return tx.append(name, rows, replace)

    def publish(self, name: str, data: pl.DataFrame | pl.LazyFrame) -> PublishResult:
        """Replace table ``name`` with ``data`` atomically: readers see the old or the new version, never none."""
        with self.transaction() as tx:
            return tx.publish(name, data)

    def drop_stale_staging(self) -> list[str]:
        """Drop staging tables that a killed process left behind (never ones in use); the names dropped."""
        return drop_stale_staging(self)

    # -- reading --------------------------------------------------------------------

    def read(
        self,
        name: str,
        columns: list[str] | None = None,
        where: dict[str, Any] | None = None,
        limit: int | None = None,
        where_in: pl.DataFrame | pl.LazyFrame | None = None,
        shard: Shard | None = None,
        shard_by: str = "customer_key",
    ) -> pl.DataFrame:
        """Table ``name`` with the dtypes listed in `cxdata.warehouse.types`: one snapshot, read now. The one
        path rows leave the warehouse by; `scan` defers it to each collection. Every filter runs in the
        warehouse, with values bound as parameters:

        - ``columns``: only these, in that order;
        - ``where``: rows whose columns equal its values (None: rows where the column is null);
        - ``where_in``: rows whose columns (the frame's columns) equal one of the frame's rows, which are
          loaded into a temporary table and joined, so a frame of any size costs no parameter per key; a
          key with a null matches nothing (`cxdata.warehouse.keyed`);
        - ``shard``: rows whose text column ``shard_by`` falls in that shard (`cxdata.shards`);
        - ``limit``: at most this many rows.

        >>> wh.read("identity_record_keys", ["record_id", "customer_key"], where={"source_table": "orders"})
        ... # doctest: +SKIP
        >>> wh.read("customer_identity", where_in=touched.select("customer_key"))   # doctest: +SKIP
        """
        check_name(name)
        keyed_by = [] if where_in is None else where_in.collect_schema().names()
        for column in [*(columns or []), *(where or {}), *keyed_by]:
            check_name(column, "column")
        with self._failing(f"reading table {name!r}"), self.engine.begin() as conn:
            self._require(conn, name)
            with keyed.row_filter(self, conn, where or {}, where_in, shard, shard_by) as (condition, params):
                if self.dialect == DUCKDB:
                    listed = ", ".join(self._quote(c) for c in columns) if columns else "*"
                    statement = (
                        f"SELECT {listed} FROM {self._qualified(name)}"
                        + (f" WHERE {condition}" if condition else "")
                        + (f" LIMIT {int(limit)}" if limit is not None else "")
                    )
                    return readers.duckdb_query(conn, statement, list(params))
                rows = conn.execute(readers.PG_COLUMNS_SQL, {"schema": self.schema, "name": name})
                catalog = [tuple(row) for row in rows]
                if columns:
                    by_name = {row[0]: row for row in catalog}
                    missing = [c for c in columns if c not in by_name]
                    if missing:
                        raise WarehouseError(
                            f"table {name!r} has no column(s) {missing}; it has {sorted(by_name)}"
                        )
                    catalog = [by_name[c] for c in columns]
                return readers.postgres_table(conn, self._qualified(name), catalog, condition, dict(params), limit)

    def scan(self, name: str, where: dict[str, Any] | None = None) -> pl.LazyFrame:
        """Table ``name`` as a LazyFrame whose collection reads (by `read`) only the columns (and rows, for
        ``where``) the query needs, so a mart plan's projection reaches the warehouse. Every collection reads
        again, and sees what is published then: an input a step uses more than once (in several plans, or
        twice in one) is `read` once instead, so every use sees one version and the table is read once.

        >>> wh.scan("stg_orders").select("order_id", "amount").collect()   # doctest: +SKIP
        """
        check_name(name)

        def source(
            with_columns: list[str] | None, predicate: pl.Expr | None, n_rows: int | None, _batch_size: int | None
        ) -> Iterator[pl.DataFrame]:
            frame = self.read(name, columns=with_columns, where=where, limit=n_rows if predicate is None else None)
            if predicate is not None:
                frame = frame.filter(predicate)
            yield frame if n_rows is None else frame.head(n_rows)

        schema = self.read(name, limit=0).schema
        return register_io_source(io_source=source, schema=schema, is_pure=True, explain_name=f"warehouse:{name}")

    def query(self, sql: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
        """Run ``sql`` with ``:name`` placeholders bound from ``params``; its rows as a frame (empty if none)."""
        try:
            compiled = sa.text(sql).compile(dialect=self.engine.dialect)
            values = compiled.construct_params(params or {})
            with self.engine.begin() as conn:
                if self.dialect == DUCKDB:
                    positional = [values[key] for key in compiled.positiontup]
                    return readers.duckdb_query(conn, compiled.string, positional)
                return readers.postgres_query(conn, compiled.string, values)
        except Exception as exc:
            cause = describe_cause(exc, self.engine.url)
            shown = " ".join(sql.split())[:200]
            raise WarehouseError(
                f"query on schema {self.schema!r} of {self._where()} failed: {cause} (query: {shown})"
            ) from exc

    def exists(self, name: str) -> bool:
        """Whether a table or view called ``name`` exists in the warehouse schema."""
        check_name(name)
        with self._failing(f"looking up table {name!r}"), self.engine.connect() as conn:
            return self._exists(conn, name)

    def row_count(self, name: str) -> int:
        """The number of rows in table ``name``."""
        check_name(name)
        with self._failing(f"counting the rows of table {name!r}"), self.engine.connect() as conn:
            self._require(conn, name)
            return conn.exec_driver_sql(
                f"SELECT count(*) FROM {self._qualified(name)}", execution_options={"no_parameters": True}
            ).scalar_one()

    def tables(self) -> list[str]:
        """The base tables of the warehouse schema, sorted, without staging tables."""
        with self._failing("listing the tables"), self.engine.connect() as conn:
            return [name for name in self._base_tables(conn) if not name.startswith(STAGING_PREFIX)]

    def _base_tables(self, conn: sa.Connection) -> list[str]:
        names = conn.execute(
            sa.text(
                "select table_name from information_schema.tables"
                " where table_schema = :schema and table_type = 'BASE TABLE'"
                + (" and table_catalog = current_database()" if self.dialect == DUCKDB else "")
            ),
            {"schema": self.schema},
        ).scalars()
        return sorted(names)

    def columns(self, name: str) -> list[str]:
        """The column names of table ``name``, in order."""
        return list(self.column_comments(name))

    def column_comments(self, name: str) -> dict[str, str | None]:
        """Column name to its catalog comment (None when it has none), in column order."""
        check_name(name)
        with self._failing(f"reading the column comments of table {name!r}"), self.engine.connect() as conn:
            self._require(conn, name)
            return {column: comment for column, _kind, comment in self._catalog_columns(conn, name)}

    def _catalog_columns(self, conn: sa.Connection, name: str) -> list[tuple[str, str, str | None]]:
        """(name, type as the catalog spells it, comment) of each column of ``name``, in column order."""
        if self.dialect == DUCKDB:
            statement = (
                "select column_name, data_type, comment from duckdb_columns()"
                " where database_name = current_database() and schema_name = :schema and table_name = :name"
                " order by column_index"
            )
        else:
            statement = (
                "select a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),"
                " pg_catalog.col_description(a.attrelid, a.attnum)"
                " from pg_catalog.pg_attribute a join pg_catalog.pg_class c on c.oid = a.attrelid"
                " join pg_catalog.pg_namespace n on n.oid = c.relnamespace"
                " where n.nspname = :schema and c.relname = :name and a.attnum > 0 and not a.attisdropped"
                " order by a.attnum"
            )
        rows = conn.execute(sa.text(statement), {"schema": self.schema, "name": name}).all()
        return [(column, kind, comment) for column, kind, comment in rows]

    def table_comment(self, name: str) -> str | None:
        """The catalog comment on table ``name``, or None."""
        check_name(name)
        with self._failing(f"reading the comment of table {name!r}"), self.engine.connect() as conn:
            self._require(conn, name)
            if self.dialect == DUCKDB:
                statement = (
                    "select comment from duckdb_tables() where database_name = current_database()"
                    " and schema_name = :schema and table_name = :name"
                    " union all select comment from duckdb_views() where database_name = current_database()"
                    " and schema_name = :schema and view_name = :name"
                )
            else:
                statement = (
                    "select pg_catalog.obj_description(c.oid, 'pg_class') from pg_catalog.pg_class c"
                    " join pg_catalog.pg_namespace n on n.oid = c.relnamespace"
                    " where n.nspname = :schema and c.relname = :name"
                )
            return conn.execute(sa.text(statement), {"schema": self.schema, "name": name}).scalar()

    # -- lifecycle ------------------------------------------------------------------

    def dispose(self) -> None:
        """Close every pooled connection; the Warehouse must not be used afterwards."""
        self.engine.dispose()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.dispose()

    def __repr__(self) -> str:
        return f"Warehouse({self._where()!r}, schema={self.schema!r})"
