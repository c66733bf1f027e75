"""The one exception the warehouse raises, the safe wording of its causes, and which causes are worth a retry."""

from __future__ import annotations

import duckdb
import psycopg
import sqlalchemy as sa


class WarehouseError(RuntimeError):
    """A warehouse operation failed; the message names the table and the step, the cause is chained."""


def safe_url(url: sa.URL) -> str:
    """The URL as text with any password masked, for messages and logs."""
    return url.render_as_string(hide_password=True)


def describe_cause(exc: BaseException, url: sa.URL) -> str:
    """A one-line account of ``exc`` without SQL text, parameters or the URL's password."""
    cause = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver error
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    text = lines[0] if lines else ""
    # Driver messages that quote a connection string could echo the password.
    if url.password:
        text = text.replace(str(url.password), "***")
    return f"{type(cause).__name__}: {text}" if text else type(cause).__name__


# PostgreSQL SQLSTATEs worth a retry: connection (class 08), serialization failure, deadlock, lock timeout,
# server shutting down or starting, too many connections.
_TRANSIENT_SQLSTATES = {"40001", "40P01", "55P03", "57P01", "57P02", "57P03", "53300"}


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` or an error it was raised from is a warehouse hiccup that a later attempt may not hit."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionError | TimeoutError | sa.exc.DisconnectionError | sa.exc.TimeoutError):
            return True
        # DuckDB is a single-writer file: another process holding it is a wait, not a bug.
        if isinstance(current, duckdb.IOException) and "lock" in str(current).lower():
            return True
        state = getattr(current, "sqlstate", None)
        if isinstance(state, str) and (state.startswith("08") or state in _TRANSIENT_SQLSTATES):
            return True
        if isinstance(current, sa.exc.DBAPIError) and current.connection_invalidated:
            return True
        # libpq reports a refused or dropped connection as an OperationalError without a SQLSTATE.
        if isinstance(current, psycopg.OperationalError) and current.sqlstate is None:
            return True
        # SQLAlchemy keeps the driver's error as .orig; the warehouse chains SQLAlchemy's as the cause.
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return False
