"""PostgreSQL roles that keep personal data behind the warehouse owner: ``cxdata_bi`` and ``cxdata_marketing``.

    from cxdata.warehouse.roles import grant_roles

    with Warehouse(url, schema) as wh:
        grant_roles(wh, members={"cxdata_bi": ["metabase"]})

Personal data (emails, phones, names, postcodes) lives only in
``dim_customer_pii`` and ``customer_identity`` (with identity's ``identity_links`` and the hashes of
``identity_record_hashes``) among the marts, and raw in the
``stg_`` and ``quarantine_`` tables of ingest. None of those is granted to any
role: only the warehouse owner reads them. ``cxdata_bi`` reads the BI views and
every other table of the schema; a table that carries a personal column by
name is withheld even when not listed, so a new mart never leaks by accident.
Cookie and device ids, and raw URLs, are personal too but sit in tables BI
needs (``fct_web_sessions``): those columns (`is_tracking_column`, by name,
wherever they appear) are withheld column by column, and the role is granted
SELECT on the table's other columns only. The marts carry non-personal stand-ins
where BI needs them (``landing_path`` without the query string, ``referrer_host``).
``cxdata_marketing`` reads the segment tables, customer_scores, bi_segments,
segment_definitions and the pseudonymous ``marketing_segment_export`` view (hashes, no raw values; a
PostgreSQL view reads with its owner's rights, so the role needs no grant on
dim_customer_pii). Roles are NOLOGIN: a login user gets one with
``GRANT cxdata_bi TO metabase`` (what ``members`` does).

Granting is per schema and idempotent: every run revokes what the roles hold in
the schema and grants the current set in one transaction. Publish keeps a
table's grants across its swap, but a table published for the first time after
a grant is readable by no role until the next grant.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial

import sqlalchemy as sa

from cxdata import schema as contract
from cxdata.warehouse.core import Warehouse
from cxdata.warehouse.errors import WarehouseError, describe_cause
from cxdata.warehouse.identifiers import STAGING_PREFIX, check_name
from cxdata.warehouse.identifiers import quote as quote_identifier
from cxdata.warehouse.types import POSTGRESQL
from cxdata.warehouse.views import BI_VIEWS, MARKETING_VIEWS

BI_ROLE = "cxdata_bi"
MARKETING_ROLE = "cxdata_marketing"
# and pii_access_log, which names the staff and tokens that read personal data: for the owner's audits only
PERSONAL_TABLES = frozenset(
    {"dim_customer_pii", "customer_identity", "identity_links", "identity_record_hashes", "pii_access_log"}
)
PERSONAL_PREFIXES = ("stg_", "quarantine_")
# Ids that follow one visitor across visits, and URLs, whose path or query string can carry an email, a
# name or a token; session_id is fct_web_sessions' anonymous_id and a time; utm_term and utm_content are
# where email tools put per-recipient values (the marts keep only utm_source, utm_medium and utm_campaign).
TRACKING_COLUMNS = frozenset(
    {
        "anonymous_id", "cookie_id", "device_id", "session_id", "ip_address",
        "landing_page", "page_path", "referrer", "referer", "url", "utm_term", "utm_content",
    }
)  # fmt: skip
MARKETING_RELATIONS = (
    "segment_members", "segment_summary", "customer_scores", "bi_segments", "segment_definitions",
    "segment_membership", "segment_events", "segment_scorings", "bi_segment_membership", *MARKETING_VIEWS,
)  # fmt: skip
_DUPLICATE = {"42710", "23505"}  # duplicate_object, or unique_violation when two sessions create it at once

_RELATIONS_SQL = """
select c.relname, c.relkind, a.attname
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
left join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
where n.nspname = :schema and c.relkind in ('r', 'p', 'v', 'm')
order by c.relname, a.attnum
"""


def is_personal(table: str, columns: list[str]) -> bool:
    """Whether ``table`` holds personal data: a personal mart, a raw ingest table, or a personal column."""
    return (
        table in PERSONAL_TABLES
        or table.startswith(PERSONAL_PREFIXES)
        or any(column in contract.PERSONAL_COLUMNS for column in columns)
    )


def is_tracking_column(column: str) -> bool:
    """Whether ``column`` is a cookie/device id or a raw URL, withheld from the roles column by column."""
    return column in TRACKING_COLUMNS or column.endswith("_url")


def withheld_columns(relations: Mapping[str, tuple[str, list[str]]]) -> dict[str, list[str]]:
    """The tracking columns of each relation that has any (relation -> columns, in table order)."""
    found = {name: [c for c in columns if is_tracking_column(c)] for name, (_, columns) in relations.items()}
    return {name: columns for name, columns in sorted(found.items()) if columns}


def readable_by(relations: Mapping[str, tuple[str, list[str]]]) -> dict[str, list[str]]:
    """Which of ``relations`` (name -> (kind "table" or "view", columns)) each role may read, by role purpose:
    ``"bi"`` and ``"marketing"``. Views cxdata does not own are granted to no role."""
    bi = [
        name
        for name, (kind, columns) in sorted(relations.items())
        if (kind == "table" and not is_personal(name, columns)) or (kind == "view" and name in BI_VIEWS)
    ]
    marketing = [name for name in MARKETING_RELATIONS if name in relations]
    return {"bi": bi, "marketing": sorted(marketing)}


@dataclass
class GrantReport:
    """What `grant_roles` left in place: per role, the relations it reads; the tables withheld as personal;
    the columns withheld from relations the roles otherwise read."""

    schema: str
    readable: dict[str, list[str]] = field(default_factory=dict)
    withheld: list[str] = field(default_factory=list)
    members: dict[str, list[str]] = field(default_factory=dict)
    withheld_columns: dict[str, list[str]] = field(default_factory=dict)


def _relations(conn: sa.Connection, schema: str) -> dict[str, tuple[str, list[str]]]:
    found: dict[str, tuple[str, list[str]]] = {}
    for name, kind, column in conn.execute(sa.text(_RELATIONS_SQL), {"schema": schema}):
        if name.startswith(STAGING_PREFIX):
            continue
        entry = found.setdefault(name, ("view" if kind in ("v", "m") else "table", []))
        if column is not None:
            entry[1].append(column)
    return found


def _run(conn: sa.Connection, statement: str) -> None:
    conn.exec_driver_sql(statement, execution_options={"no_parameters": True})


def _ensure_role(conn: sa.Connection, role: str, quoted: str) -> None:
    if conn.execute(sa.text("select 1 from pg_catalog.pg_roles where rolname = :role"), {"role": role}).first():
        return
    try:
        with conn.begin_nested():
            _run(conn, f"CREATE ROLE {quoted} NOLOGIN")
    except sa.exc.DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) not in _DUPLICATE:
            raise


def _select_grant(target: str, columns: list[str], role: str, quote: Callable[[str], str]) -> str | None:
    # A relation with tracking columns is granted its other columns by name, so a column added later stays
    # unreadable until the next grant: the safe side.
    if not any(is_tracking_column(c) for c in columns):
        return f"GRANT SELECT ON {target} TO {role}"
    shown = [quote(c) for c in columns if not is_tracking_column(c)]
    return f"GRANT SELECT ({', '.join(shown)}) ON {target} TO {role}" if shown else None


def grant_roles(
    wh: Warehouse,
    bi_role: str = BI_ROLE,
    marketing_role: str = MARKETING_ROLE,
    members: Mapping[str, list[str]] | None = None,
) -> GrantReport:
    """Create the two roles when missing and set exactly their read access to the warehouse schema.

    ``members`` maps a role to the existing login roles that get it. Names must be plain
    identifiers and are quoted by the dialect; PostgreSQL only.
    """
    if wh.dialect != POSTGRESQL:
        raise WarehouseError(f"roles are a PostgreSQL feature; the {wh.dialect} warehouse has no roles to grant")
    roles = {"bi": check_name(bi_role, "role"), "marketing": check_name(marketing_role, "role")}
    members = {
        check_name(role, "role"): [check_name(m, "member role") for m in names]
        for role, names in (members or {}).items()
    }
    unknown = sorted(set(members) - set(roles.values()))
    if unknown:
        raise WarehouseError(f"members given for role(s) {unknown}, which grant_roles does not manage")
    quote = partial(quote_identifier, wh.engine.dialect)
    schema_sql = quote(wh.schema)
    try:
        with wh.engine.begin() as conn:
            relations = _relations(conn, wh.schema)
            readable = readable_by(relations)
            for purpose, role in roles.items():
                role_sql = quote(role)
                _ensure_role(conn, role, role_sql)
                _run(conn, f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema_sql} FROM {role_sql}")
                _run(conn, f"REVOKE ALL ON SCHEMA {schema_sql} FROM {role_sql}")
                _run(conn, f"GRANT USAGE ON SCHEMA {schema_sql} TO {role_sql}")
                for name in readable[purpose]:
                    grant = _select_grant(f"{schema_sql}.{quote(name)}", relations[name][1], role_sql, quote)
                    if grant is not None:
                        _run(conn, grant)
            for role, names in members.items():
                for member in names:
                    if not conn.execute(
                        sa.text("select 1 from pg_catalog.pg_roles where rolname = :role"), {"role": member}
                    ).first():
                        raise WarehouseError(f"cannot grant {role!r} to {member!r}: no such role on the server")
                    _run(conn, f"GRANT {quote(role)} TO {quote(member)}")
    except sa.exc.DBAPIError as exc:
        raise WarehouseError(
            f"granting roles on schema {wh.schema!r} failed: {describe_cause(exc, wh.engine.url)}"
        ) from exc
    withheld = sorted(
        name for name, (kind, columns) in relations.items() if kind == "table" and is_personal(name, columns)
    )
    granted = {name for names in readable.values() for name in names}
    return GrantReport(
        wh.schema,
        {roles[purpose]: names for purpose, names in readable.items()},
        withheld,
        {role: list(names) for role, names in members.items()},
        {name: columns for name, columns in withheld_columns(relations).items() if name in granted},
    )
