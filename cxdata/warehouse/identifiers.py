"""Table, schema and column names: the checks every name passes and the one way they are quoted."""

from __future__ import annotations

import re

from sqlalchemy.engine import Dialect

from cxdata.warehouse.errors import WarehouseError

# PostgreSQL truncates identifiers longer than 63 bytes (NAMEDATALEN - 1) without
# an error, which would make the published table differ from the one asked for.
MAX_IDENTIFIER_LENGTH = 63

STAGING_PREFIX = "_cxstg_"

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_name(name: object, what: str = "table") -> str:
    """Return ``name`` if it is a plain SQL identifier, else raise a WarehouseError saying why."""
    if not isinstance(name, str):
        raise WarehouseError(f"invalid {what} name {name!r}: expected a string, got {type(name).__name__}")
    if not _NAME_RE.fullmatch(name) or len(name) > MAX_IDENTIFIER_LENGTH:
        raise WarehouseError(
            f"invalid {what} name {name!r}: a {what} name must start with a letter or underscore and "
            f"contain only ASCII letters, digits and underscores, at most {MAX_IDENTIFIER_LENGTH} characters"
        )
    if what == "table" and name.startswith(STAGING_PREFIX):
        raise WarehouseError(
            f"invalid table name {name!r}: names starting with {STAGING_PREFIX!r} are reserved for staging tables"
        )
    return name


def quote(dialect: Dialect, name: str) -> str:
    """``name`` quoted by the dialect's identifier preparer, for statements sent to the driver without parameters.

    Always quoted, because quoting only "when needed" misses words DuckDB's parser
    reserves (AT, for one). The psycopg dialect doubles '%' for its pyformat
    placeholders; statements sent without parameters must carry the name as is.
    """
    quoted = dialect.identifier_preparer.quote_identifier(name)
    return quoted.replace("%%", "%") if dialect.paramstyle in ("format", "pyformat") else quoted
