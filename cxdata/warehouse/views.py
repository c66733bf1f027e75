"""The warehouse's views: BI views with friendly names and the pseudonymous marketing export, from ``sql/``.

    from cxdata.warehouse.views import create_views

    with Warehouse(url) as wh:
        report = create_views(wh)          # every view whose base tables exist

A view file ``sql/<view>.sql`` holds one ``create or replace view <view> as
select ...;`` statement plus ``comment on view`` / ``comment on column``
statements. When the SQL must differ by dialect, ``sql/<view>.<dialect>.sql``
(``duckdb`` or ``postgresql``) holds the create statement and ``sql/<view>.sql``
only the comments. Views are created in the warehouse schema and read their
tables unqualified, so one file serves every schema.

A view's SQL may show project settings as columns through ``:currency`` and
``:hurdle`` (`create_views` arguments). PostgreSQL takes no bound parameters in
DDL, so the dialect renders each value as an escaped literal where the
placeholder stands. Columns a base table gains in a later version are listed in
``View.newer_columns``: a table published before reads as null there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import partial

import sqlalchemy as sa

from cxdata.config import DEFAULT_CURRENCY, TouchpointConfig
from cxdata.warehouse import dependents
from cxdata.warehouse.comments import Comment, _statements, sql_dir
from cxdata.warehouse.core import Warehouse
from cxdata.warehouse.errors import WarehouseError, describe_cause
from cxdata.warehouse.identifiers import quote as quote_identifier
from cxdata.warehouse.types import POSTGRESQL

_CREATE = re.compile(
    r"create\s+(?:or\s+replace\s+)?view\s+(?P<name>[A-Za-z_]\w*)\s+as\s+(?P<select>.+)", re.I | re.S
)
_COMMENT = re.compile(
    r"comment\s+on\s+(?:view\s+(?P<view>[A-Za-z_]\w*)"
    r"|column\s+(?P<col_view>[A-Za-z_]\w*)\s*\.\s*(?P<column>[A-Za-z_]\w*))"
    r"\s+is\s+'(?P<text>(?:[^']|'')*)'",
    re.I | re.S,
)
DEFAULT_HURDLE = TouchpointConfig.model_fields["hurdle"].default
_PLACEHOLDER = r"(?<![:\w]):{}(?![\w:])"


@dataclass(frozen=True)
class View:
    """A view cxdata creates: its name, the tables it reads (it is skipped while one is missing) and audience."""

    name: str
    requires: tuple[str, ...]
    audience: str  # "bi" (no personal data) or "marketing" (pseudonymous)
    # (table, column, SQL type) of columns a table published by an earlier version lacks: they read as null, so
    # the view works until the next run republishes the table
    newer_columns: tuple[tuple[str, str, str], ...] = ()


VIEWS: tuple[View, ...] = (
    # first: views below read it
    View("dim_customer", ("customer_activity", "dim_customer_params"), "bi"),
    View("bi_customer_overview", ("dim_customer", "customer_scores"), "bi"),
    View("bi_kpis_daily", ("cx_kpis_daily",), "bi"),
    View("bi_orders_by_channel_daily", ("fct_orders", "cx_kpis_daily"), "bi"),
    View("bi_tickets_by_channel_daily", ("fct_tickets", "cx_kpis_daily"), "bi"),
    View("bi_surveys_by_channel_daily", ("fct_surveys", "cx_kpis_daily"), "bi"),
    View("bi_web_by_channel_daily", ("fct_web_sessions", "cx_kpis_daily"), "bi"),
    View("bi_people", ("dim_customer",), "bi"),
    View("bi_segments", ("segment_summary",), "bi"),
    View("bi_segment_membership", ("segment_membership", "segment_scorings", "customer_scores"), "bi"),
    View(
        "bi_touchpoint_investment",
        ("touchpoint_scores",),
        "bi",
        tuple(
            ("touchpoint_scores", column, kind)
            for column, kind in (
                ("evidence", "text"),
                ("incremental_value_low", "double precision"),
                ("incremental_value_high", "double precision"),
                ("placebo_bias", "double precision"),
                ("placebo_sd", "double precision"),
                ("more_data_factor", "double precision"),
                ("more_weeks", "double precision"),
                ("hurdle", "double precision"),
                ("currency", "text"),
            )
        ),
    ),
    View(
        "segment_definitions",
        ("segment_summary",),
        "bi",
        tuple(("segment_summary", column, "text") for column in ("rule", "thresholds_json", "suggested_action")),
    ),
    View("marketing_segment_export", ("segment_members", "customer_scores", "dim_customer_pii"), "marketing"),
)
BI_VIEWS = tuple(view.name for view in VIEWS if view.audience == "bi")
# views that stand for a mart (a table in earlier versions): compared and documented like the tables
MART_VIEWS = ("dim_customer",)
MARKETING_VIEWS = tuple(view.name for view in VIEWS if view.audience == "marketing")


@dataclass(frozen=True)
class ViewDefinition:
    """One view as its files define it for one dialect: the SELECT and the comments."""

    name: str
    select: str
    comments: list[Comment]


@dataclass
class ViewsReport:
    """What `create_views` did: the views created and, for each one skipped, the tables it still lacks."""

    created: list[str] = field(default_factory=list)
    skipped: dict[str, list[str]] = field(default_factory=dict)


def _parse(source: str, name: str, origin: str) -> tuple[list[str], list[Comment]]:
    selects, comments = [], []
    for statement in _statements(source):
        create, comment = _CREATE.fullmatch(statement), _COMMENT.fullmatch(statement)
        target = (create and create.group("name")) or (
            comment and (comment.group("view") or comment.group("col_view"))
        )
        if not target:
            raise WarehouseError(
                f"{origin} may only contain 'create or replace view' and 'comment on view/column' statements, "
                f"found: {statement[:120]!r}"
            )
        if target.lower() != name.lower():
            raise WarehouseError(f"{origin} defines or documents {target!r}, but it is the file of view {name!r}")
        if create:
            selects.append(create.group("select").strip())
        else:
            comments.append(Comment(comment.group("column"), comment.group("text").replace("''", "'")))
    return selects, comments


def load_view(name: str, dialect: str) -> ViewDefinition:
    """The definition of view ``name`` for ``dialect`` from ``sql/``; WarehouseError when the files are wrong."""
    path = sql_dir() / f"{name}.sql"
    if not path.is_file():
        raise WarehouseError(f"view {name!r} has no file {path}")
    selects, comments = _parse(path.read_text(encoding="utf-8"), name, str(path))
    variant = sql_dir() / f"{name}.{dialect}.sql"
    if variant.is_file():
        selects, extra = _parse(variant.read_text(encoding="utf-8"), name, str(variant))
        comments += extra
    if len(selects) != 1:
        raise WarehouseError(
            f"view {name!r} needs exactly one create statement for {dialect} in {path.name} or {variant.name}, "
            f"found {len(selects)}"
        )
    return ViewDefinition(name, selects[0], comments)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _run(conn: sa.Connection, statement: str) -> None:
    conn.exec_driver_sql(statement, execution_options={"no_parameters": True})


def _literal_value(dialect: sa.Dialect, value: str | float) -> str:
    rendered = str(sa.literal(value).compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    # as in identifiers.quote: statements go to the driver without parameters, so '%' must not stay doubled
    return rendered.replace("%%", "%") if dialect.paramstyle in ("format", "pyformat") else rendered


def _with_settings(select: str, dialect: sa.Dialect, settings: dict[str, str | float]) -> str:
    for name, value in settings.items():
        literal = _literal_value(dialect, value)
        select = re.sub(_PLACEHOLDER.format(name), lambda _match, text=literal: text, select)
    return select


def _with_newer_columns(select: str, wh: Warehouse, view: View) -> str:
    quote = partial(quote_identifier, wh.engine.dialect)
    for table in dict.fromkeys(table for table, _, _ in view.newer_columns):
        present = set(wh.columns(table))
        nulls = [
            f"cast(null as {kind}) as {quote(column)}"
            for owner, column, kind in view.newer_columns
            if owner == table and column not in present
        ]
        if nulls:
            stand_in = f"(select *, {', '.join(nulls)} from {quote(table)})"
            select = re.sub(
                rf"\b(from|join)(\s+){table}\b", lambda m, text=stand_in: m[1] + m[2] + text, select, flags=re.I
            )
    return select


def _create(conn: sa.Connection, wh: Warehouse, definition: ViewDefinition) -> None:
    quote = partial(quote_identifier, conn.dialect)
    target = f"{quote(wh.schema)}.{quote(definition.name)}"
    if wh.dialect != POSTGRESQL:
        _run(conn, f"CREATE OR REPLACE VIEW {target} AS {definition.select}")
    else:
        try:
            # REPLACE keeps the view's grants and the views on it, but only while its columns stay the same.
            with conn.begin_nested():
                _run(conn, f"CREATE OR REPLACE VIEW {target} AS {definition.select}")
        except sa.exc.DBAPIError:
            granted = dependents.grants_on(conn, wh.schema, definition.name)
            _run(conn, f"DROP VIEW IF EXISTS {target}")
            _run(conn, f"CREATE VIEW {target} AS {definition.select}")
            for statement in dependents.grant_statements(conn, target, granted):
                _run(conn, statement)
    for comment in definition.comments:
        on = f"VIEW {target}" if comment.column is None else f"COLUMN {target}.{quote(comment.column)}"
        _run(conn, f"COMMENT ON {on} IS {_literal(comment.text)}")


def create_views(
    wh: Warehouse,
    names: list[str] | None = None,
    *,
    currency: str = DEFAULT_CURRENCY,
    hurdle: float = DEFAULT_HURDLE,
) -> ViewsReport:
    """Create or replace the views of ``VIEWS`` (only ``names``, when given) whose base tables all exist.

    ``currency`` (the project's ISO code) and ``hurdle`` (models.touchpoints.hurdle) are what the views show
    where a base table does not carry them itself.
    """
    settings = {"currency": currency, "hurdle": float(hurdle)}
    known = {view.name: view for view in VIEWS}
    unknown = sorted(set(names or ()) - set(known))
    if unknown:
        raise WarehouseError(f"unknown view(s) {unknown}; cxdata creates {sorted(known)}")
    report = ViewsReport()
    for view in VIEWS:
        if names is not None and view.name not in names:
            continue
        missing = [table for table in view.requires if not wh.exists(table)]
        if missing:
            report.skipped[view.name] = missing
            continue
        definition = load_view(view.name, wh.dialect)
        select = _with_settings(_with_newer_columns(definition.select, wh, view), wh.engine.dialect, settings)
        definition = ViewDefinition(definition.name, select, definition.comments)
        try:
            with wh.engine.begin() as conn:
                _create(conn, wh, definition)
        except sa.exc.DBAPIError as exc:
            raise WarehouseError(
                f"creating view {view.name!r} in schema {wh.schema!r} failed: {describe_cause(exc, wh.engine.url)}"
            ) from exc
        report.created.append(view.name)
    return report


def create_mart_view(wh: Warehouse, name: str) -> None:
    """Create or replace the view ``name`` of ``MART_VIEWS``; a table of that name an earlier version published
    is dropped first, and on PostgreSQL its grants and the views on it move onto the view."""
    if name not in MART_VIEWS:
        raise WarehouseError(f"{name!r} is not a view standing for a mart; those are {list(MART_VIEWS)}")
    target = f"{quote_identifier(wh.engine.dialect, wh.schema)}.{quote_identifier(wh.engine.dialect, name)}"
    captured = None
    if name in wh.tables():
        with wh.engine.begin() as conn:
            if wh.dialect == POSTGRESQL:
                captured = dependents.capture(conn, wh.schema, name)
                dependents.drop_views(conn, captured)
            _run(conn, f"DROP TABLE {target}")
    create_views(wh, [name])
    if captured is not None:
        own = frozenset((wh.schema, view.name) for view in VIEWS)
        with wh.engine.begin() as conn:
            dependents.restore(conn, captured, target, own)
