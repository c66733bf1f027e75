"""What hangs on a PostgreSQL table and would be lost by publish's drop-and-rename: its grants and the views on it.

PostgreSQL binds a view to the table itself, not to its name, so ``DROP TABLE``
refuses while a view depends on it, and grants die with the dropped table. The
swap therefore captures both inside its transaction, drops the dependent views
(deepest first), swaps the table, then recreates the views (shallowest first)
from the catalog's own definition with their comments, options, owner and
grants, and re-grants the table, column grants included (on the columns the new
version still has). Readers see the old or the new state, never a
missing view. DuckDB binds views by name and has no grants, so it needs none of this.

A view that no longer fits the new table (it reads a column the new version
dropped) stops the publish, unless it is one of cxdata's own views from
``sql/`` (``replaceable``): that one is left dropped, for
`cxdata.warehouse.views.create_views` to create anew from its current file (the
BI views step does, after the marts), so an upgrade that reshapes a mart does not
fail on the view of the version before.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial

import sqlalchemy as sa

from cxdata.warehouse.errors import WarehouseError
from cxdata.warehouse.identifiers import quote as quote_identifier

# Views on views: a view's rewrite rule depends on every relation it reads; walk them to the leaves.
_VIEWS_SQL = """
with recursive dependents(oid, depth) as (
    select r.ev_class, 1
    from pg_catalog.pg_depend d join pg_catalog.pg_rewrite r on r.oid = d.objid
    where d.classid = 'pg_catalog.pg_rewrite'::regclass and d.refclassid = 'pg_catalog.pg_class'::regclass
      and d.refobjid = :oid and r.ev_class <> :oid
    union all
    select r.ev_class, dependents.depth + 1
    from dependents
    join pg_catalog.pg_depend d on d.refobjid = dependents.oid
    join pg_catalog.pg_rewrite r on r.oid = d.objid
    where d.classid = 'pg_catalog.pg_rewrite'::regclass and d.refclassid = 'pg_catalog.pg_class'::regclass
      and r.ev_class <> dependents.oid
)
select c.oid, n.nspname, c.relname, c.relkind, pg_catalog.pg_get_viewdef(c.oid) as definition,
       c.reloptions, pg_catalog.pg_get_userbyid(c.relowner) as owner,
       pg_catalog.obj_description(c.oid, 'pg_class') as comment, max(dependents.depth) as depth
from dependents
join pg_catalog.pg_class c on c.oid = dependents.oid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
group by c.oid, n.nspname, c.relname, c.relkind, c.reloptions, c.relowner
order by depth, n.nspname, c.relname
"""

_GRANTS_SQL = """
select case when a.grantee = 0 then null else pg_catalog.pg_get_userbyid(a.grantee) end as grantee,
       a.privilege_type, a.is_grantable
from pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
where c.oid = :oid and a.grantee <> c.relowner
order by 1, 2
"""

# Column-level privileges (the roles read some tables column by column) live on the columns, not the table.
_COLUMN_GRANTS_SQL = """
select case when x.grantee = 0 then null else pg_catalog.pg_get_userbyid(x.grantee) end as grantee,
       x.privilege_type, x.is_grantable, a.attname
from pg_catalog.pg_class c
join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
cross join lateral pg_catalog.aclexplode(a.attacl) x
where c.oid = :oid and x.grantee <> c.relowner
order by 1, 2, 3, a.attnum
"""

_COLUMNS_SQL = """
select a.attname from pg_catalog.pg_attribute a
where a.attrelid = pg_catalog.to_regclass(:target) and a.attnum > 0 and not a.attisdropped
"""

_COLUMN_COMMENTS_SQL = """
select a.attname, pg_catalog.col_description(a.attrelid, a.attnum)
from pg_catalog.pg_attribute a
where a.attrelid = :oid and a.attnum > 0 and not a.attisdropped
  and pg_catalog.col_description(a.attrelid, a.attnum) is not null
order by a.attnum
"""

_TABLE_OID_SQL = """
select c.oid from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where n.nspname = :schema and c.relname = :name and c.relkind in ('r', 'p')
"""


@dataclass(frozen=True)
class Grant:
    """One privilege on a relation, or on some of its ``columns`` only: ``grantee`` None is PUBLIC."""

    grantee: str | None
    privilege: str
    grantable: bool
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class DependentView:
    """A view as the catalog holds it, enough to drop and recreate it unchanged."""

    schema: str
    name: str
    definition: str
    options: tuple[str, ...]
    owner: str
    comment: str | None
    column_comments: tuple[tuple[str, str], ...]
    grants: tuple[Grant, ...]


@dataclass(frozen=True)
class Dependents:
    """The grants of one table and the views that depend on it, in creation order; its column grants."""

    grants: tuple[Grant, ...]
    views: tuple[DependentView, ...]
    column_grants: tuple[Grant, ...] = ()


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _grants(conn: sa.Connection, oid: int) -> tuple[Grant, ...]:
    rows = conn.execute(sa.text(_GRANTS_SQL), {"oid": oid}).all()
    return tuple(Grant(grantee, privilege, grantable) for grantee, privilege, grantable in rows)


def _column_grants(conn: sa.Connection, oid: int) -> tuple[Grant, ...]:
    found: dict[tuple[str | None, str, bool], list[str]] = {}
    for grantee, privilege, grantable, column in conn.execute(sa.text(_COLUMN_GRANTS_SQL), {"oid": oid}):
        found.setdefault((grantee, privilege, grantable), []).append(column)
    return tuple(Grant(*key, columns=tuple(columns)) for key, columns in found.items())


def grants_on(conn: sa.Connection, schema: str, name: str) -> tuple[Grant, ...]:
    """The privileges others hold on relation ``schema.name`` (none when it does not exist)."""
    oid = conn.execute(
        sa.text(
            "select c.oid from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = :schema and c.relname = :name"
        ),
        {"schema": schema, "name": name},
    ).scalar()
    return () if oid is None else _grants(conn, oid)


def capture(conn: sa.Connection, schema: str, table: str) -> Dependents:
    """The grants of ``schema.table`` and its dependent views (none when the table does not exist yet)."""
    # Definitions come back schema-qualified only for names off the search_path: leave nothing on it.
    conn.exec_driver_sql("SET LOCAL search_path TO pg_catalog", execution_options={"no_parameters": True})
    oid = conn.execute(sa.text(_TABLE_OID_SQL), {"schema": schema, "name": table}).scalar()
    if oid is None:
        return Dependents((), ())
    views = []
    for row in conn.execute(sa.text(_VIEWS_SQL), {"oid": oid}).mappings().all():
        if row["relkind"] != "v":
            raise WarehouseError(
                f"cannot replace table {table!r}: {row['nspname']}.{row['relname']} depends on it and is not a "
                "plain view (a materialized view must be dropped before the table is republished)"
            )
        comments = conn.execute(sa.text(_COLUMN_COMMENTS_SQL), {"oid": row["oid"]}).all()
        views.append(
            DependentView(
                schema=row["nspname"],
                name=row["relname"],
                definition=row["definition"].strip().rstrip(";"),
                options=tuple(row["reloptions"] or ()),
                owner=row["owner"],
                comment=row["comment"],
                column_comments=tuple((column, text) for column, text in comments),
                grants=_grants(conn, row["oid"]),
            )
        )
    return Dependents(_grants(conn, oid), tuple(views), _column_grants(conn, oid))


def _run(conn: sa.Connection, statement: str) -> None:
    conn.exec_driver_sql(statement, execution_options={"no_parameters": True})


def drop_views(conn: sa.Connection, dependents: Dependents) -> None:
    """Drop the captured views, deepest first, so the table can be dropped without CASCADE."""
    quote = partial(quote_identifier, conn.dialect)
    for view in reversed(dependents.views):
        _run(conn, f"DROP VIEW {quote(view.schema)}.{quote(view.name)}")


def grant_statements(conn: sa.Connection, target: str, grants: tuple[Grant, ...]) -> list[str]:
    """GRANT statements giving ``grants`` back on ``target`` (already quoted)."""
    quote = partial(quote_identifier, conn.dialect)
    return [
        f"GRANT {grant.privilege}"
        + (f" ({', '.join(quote(c) for c in grant.columns)})" if grant.columns else "")
        + f" ON {target} TO {'PUBLIC' if grant.grantee is None else quote(grant.grantee)}"
        + (" WITH GRANT OPTION" if grant.grantable else "")
        for grant in grants
    ]


def restore(
    conn: sa.Connection,
    dependents: Dependents,
    table_sql: str,
    replaceable: frozenset[tuple[str, str]] = frozenset(),
) -> None:
    """Re-grant the new table (``table_sql``, already quoted) and recreate the captured views on it; a view whose
    (schema, name) is in ``replaceable`` and that no longer fits it is left dropped (see the module docstring)."""
    quote = partial(quote_identifier, conn.dialect)
    for statement in grant_statements(conn, table_sql, dependents.grants):
        _run(conn, statement)
    if dependents.column_grants:
        present = set(conn.execute(sa.text(_COLUMNS_SQL), {"target": table_sql}).scalars())
        kept = [replace(g, columns=tuple(c for c in g.columns if c in present)) for g in dependents.column_grants]
        for statement in grant_statements(conn, table_sql, tuple(g for g in kept if g.columns)):
            _run(conn, statement)
    if not dependents.views:
        return
    current = conn.execute(sa.text("select current_user")).scalar_one()
    for view in dependents.views:
        target = f"{quote(view.schema)}.{quote(view.name)}"
        options = f" WITH ({', '.join(view.options)})" if view.options else ""
        try:
            with conn.begin_nested():
                _run(conn, f"CREATE VIEW {target}{options} AS {view.definition}")
        except sa.exc.DBAPIError as exc:
            if (view.schema, view.name) in replaceable:
                continue
            raise WarehouseError(
                f"view {view.schema}.{view.name} depends on the table being published and cannot be recreated "
                f"on its new version ({str(exc.orig).splitlines()[0]}); drop or change the view first"
            ) from exc
        if view.comment is not None:
            _run(conn, f"COMMENT ON VIEW {target} IS {_literal(view.comment)}")
        for column, text in view.column_comments:
            _run(conn, f"COMMENT ON COLUMN {target}.{quote(column)} IS {_literal(text)}")
        for statement in grant_statements(conn, target, view.grants):
            _run(conn, statement)
        # last: once another role owns the view, this one may no longer grant on it
        if view.owner != current:
            _run(conn, f"ALTER VIEW {target} OWNER TO {quote(view.owner)}")
