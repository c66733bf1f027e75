"""Indexes that published PostgreSQL tables get, built on the staging table so the swap stays atomic.

The declarations are the ``INDEXES`` mapping below (table name to the column
lists to index, in order), not the ``sql/<table>.sql`` files: those hold only
comments, which `cxdata.warehouse.comments` parses strictly. An index whose
columns the published frame lacks is skipped.

Publish builds each index on the staging table under a temporary name, before
the swap, so the swap itself only renames: inside the swap transaction the old
table (and its indexes) is dropped and the staging index takes its final name
``<table>__<columns>_idx``, which therefore never changes between publishes.

DuckDB gets none (publish calls this on PostgreSQL only): it refuses to rename
a table that has an index ("Cannot alter entry ... because there are entries
that depend on it"), and its zone maps already skip the row groups a keyed page
does not need.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import sqlalchemy as sa

from cxdata.warehouse.identifiers import MAX_IDENTIFIER_LENGTH, STAGING_PREFIX

# The tables `cxdata serve` pages through or looks customers up in: every request filters or joins on these.
# Identity's two tables are looked up by identifier, record and key, and replaced by key, on incremental runs.
INDEXES: Mapping[str, tuple[tuple[str, ...], ...]] = {
    "segment_members": (("as_of", "segment", "customer_key"),),
    "segment_membership": (("customer_key",), ("segment", "exited_at")),
    "segment_events": (("segment", "as_of"), ("customer_key",)),
    "sync_changes": (("destination", "seq"), ("customer_key",)),
    "sync_members": (("destination", "customer_key"), ("customer_key",)),
    "customer_scores": (("customer_key",),),
    "customer_scores_history": (("customer_key",),),
    "dim_customer_pii": (("customer_key",),),
    "customer_consent": (("customer_key",),),  # exports and syncs keep the members who agreed, by key
    "customer_activity": (("customer_key",),),  # updated by key for the customers a daily run touched
    "customer_identity": (("identifier_type", "identifier_value"), ("customer_key",)),
    "identity_record_keys": (("source_table", "record_id"), ("customer_key",)),
    "identity_links": (("source_table", "record_id"), ("identifier_type", "identifier_value")),
    "identity_record_hashes": (("source_table", "record_id"), ("source_table", "partition_day")),
}


@dataclass(frozen=True)
class BuiltIndex:
    """An index built on a staging table: its temporary name, and its name once the table is swapped in."""

    temporary: str
    final: str


def index_name(table: str, columns: tuple[str, ...]) -> str:
    """The published name of the index of ``table`` on ``columns`` (cut to PostgreSQL's identifier length)."""
    return f"{table}__{'_'.join(columns)}_idx"[:MAX_IDENTIFIER_LENGTH]


def build(
    conn: sa.Connection, quote: Callable[[str], str], staging_sql: str, table: str, columns: list[str]
) -> list[BuiltIndex]:
    """Create the declared indexes of ``table`` on its PostgreSQL staging table ``staging_sql`` (already quoted),
    for those whose columns are all among ``columns``; what `rename` needs after the swap."""
    present = set(columns)
    built = []
    for indexed in INDEXES.get(table, ()):
        if not present.issuperset(indexed):
            continue
        temporary = f"{STAGING_PREFIX}ix_{uuid.uuid4().hex[:12]}"
        listed = ", ".join(quote(column) for column in indexed)
        conn.exec_driver_sql(
            f"CREATE INDEX {quote(temporary)} ON {staging_sql} ({listed})",
            execution_options={"no_parameters": True},
        )
        built.append(BuiltIndex(temporary, index_name(table, indexed)))
    return built


def rename(conn: sa.Connection, quote: Callable[[str], str], schema: str, built: list[BuiltIndex]) -> None:
    """Give the indexes of the swapped-in table their final names; run in the swap transaction, after the old
    table (which held those names) is dropped."""
    for index in built:
        conn.exec_driver_sql(
            f"ALTER INDEX {quote(schema)}.{quote(index.temporary)} RENAME TO {quote(index.final)}",
            execution_options={"no_parameters": True},
        )
