"""Table and column comments: read from ``sql/<table>.sql``, applied on publish, read back from the catalog.

The committed SQL files are the single place where warehouse tables are
documented. A file may only hold ``comment on table <t> is '...';`` and
``comment on column <t>.<column> is '...';`` statements (plus SQL comments); the
statements are parsed rather than run verbatim so that they can target the
schema-qualified table and skip columns the published frame does not have.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import sqlalchemy as sa

from cxdata.warehouse.errors import WarehouseError
from cxdata.warehouse.identifiers import quote as quote_identifier

SQL_DIR_ENV = "CXDATA_SQL_DIR"

# Literals are matched first so that "--" or ";" inside a description is kept.
_TOKENS = re.compile(r"(?P<literal>'(?:[^']|'')*')|(?P<line>--[^\n]*)|(?P<block>/\*.*?\*/)|(?P<end>;)", re.S)
_STATEMENT = re.compile(
    r"comment\s+on\s+(?:(?:table|view)\s+(?P<table>[A-Za-z_]\w*)"
    r"|column\s+(?P<col_table>[A-Za-z_]\w*)\s*\.\s*(?P<column>[A-Za-z_]\w*))"
    r"\s+is\s+'(?P<text>(?:[^']|'')*)'",
    re.I | re.S,
)


def sql_dir() -> Path:
    """The folder of warehouse SQL files: ``$CXDATA_SQL_DIR``, else ``sql/`` of the checkout or the wheel."""
    override = os.environ.get(SQL_DIR_ENV)
    if override:
        return Path(override)
    import cxdata

    package = Path(cxdata.__file__).resolve().parent
    # A checkout (or editable install) has sql/ beside the package; a wheel carries it inside as _sql/.
    checkout = package.parent / "sql"
    return checkout if checkout.is_dir() else package / "_sql"


@dataclass(frozen=True)
class Comment:
    """One documented object: the table itself (``column is None``) or one of its columns."""

    column: str | None
    text: str


def _statements(source: str) -> list[str]:
    """Split SQL into statements, dropping SQL comments but never touching string literals."""
    statements: list[str] = []
    current: list[str] = []
    position = 0
    for token in _TOKENS.finditer(source):
        current.append(source[position : token.start()])
        position = token.end()
        if token.lastgroup == "literal":
            current.append(token.group())
        elif token.lastgroup == "end":
            statements.append("".join(current).strip())
            current = []
        else:
            current.append(" ")
    current.append(source[position:])
    statements.append("".join(current).strip())
    return [statement for statement in statements if statement]


def parse_comments(source: str, table: str, origin: str = "<sql>") -> list[Comment]:
    """The comments a SQL file sets on ``table`` (or on the view of that name whose create statement lives in
    its dialect files, such as dim_customer); anything else in the file raises WarehouseError."""
    comments: list[Comment] = []
    for statement in _statements(source):
        match = _STATEMENT.fullmatch(statement)
        if match is None:
            raise WarehouseError(
                f"{origin} may only contain 'comment on table/column ... is ...;' statements, "
                f"found: {statement[:120]!r}"
            )
        target = match.group("table") or match.group("col_table")
        if target.lower() != table.lower():
            raise WarehouseError(f"{origin} documents table {target!r}, but it is the comment file of {table!r}")
        comments.append(Comment(match.group("column"), match.group("text").replace("''", "'")))
    return comments


def defines_view(name: str) -> bool:
    """Whether ``sql/`` defines ``name`` as a view (``create ... view`` in ``<name>.sql`` or a dialect variant)."""
    create = re.compile(rf"create\s+(?:or\s+replace\s+)?view\s+{re.escape(name)}\s", re.I)
    files = sql_dir().glob(f"{name}.*sql")  # <name>.sql and <name>.<dialect>.sql
    return any(create.search(" ".join(_statements(path.read_text(encoding="utf-8")))) for path in files)


def comments_for(table: str) -> list[Comment]:
    """The comments of ``sql/<table>.sql``, or none when the file does not exist."""
    path = sql_dir() / f"{table}.sql"
    if not path.is_file():
        return []
    return parse_comments(path.read_text(encoding="utf-8"), table, str(path))


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def apply_comments(conn: sa.Connection, table_sql: str, columns: list[str], comments: list[Comment]) -> None:
    """Run COMMENT ON for the table ``table_sql`` (already quoted) and those of ``columns`` it has."""
    quote = partial(quote_identifier, conn.dialect)
    # Match columns case-insensitively, as SQL would for the unquoted names in the file.
    present = {column.lower(): column for column in columns}
    for comment in comments:
        if comment.column is None:
            target = f"TABLE {table_sql}"
        elif comment.column.lower() in present:
            target = f"COLUMN {table_sql}.{quote(present[comment.column.lower()])}"
        else:
            continue
        # COMMENT takes no bind parameters; no_parameters keeps the driver from reading '%' as a placeholder.
        conn.exec_driver_sql(
            f"COMMENT ON {target} IS {_literal(comment.text)}", execution_options={"no_parameters": True}
        )
