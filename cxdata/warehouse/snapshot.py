"""A copy of a PostgreSQL schema's tables, rows, indexes and comments: the state a benchmark or a test reruns
from, taken without replaying the runs that made it."""

from __future__ import annotations

import sqlalchemy as sa

from cxdata.warehouse.identifiers import check_name


def copy_schema(url: str, source: str, target: str) -> list[str]:
    """Copy every base table of schema ``source`` into a new schema ``target`` (``CREATE TABLE ... (LIKE ...
    INCLUDING ALL)``, then the rows); the tables copied. Views are not copied: the runs that publish their
    tables recreate them."""
    check_name(source, "schema")
    check_name(target, "schema")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            names = (
                conn.execute(
                    sa.text(
                        "select table_name from information_schema.tables"
                        " where table_schema = :schema and table_type = 'BASE TABLE' order by table_name"
                    ),
                    {"schema": source},
                )
                .scalars()
                .all()
            )
            conn.execute(sa.text(f'create schema "{target}"'))
            for name in names:
                conn.execute(sa.text(f'create table "{target}"."{name}" (like "{source}"."{name}" including all)'))
                conn.execute(sa.text(f'insert into "{target}"."{name}" select * from "{source}"."{name}"'))
    finally:
        engine.dispose()
    return list(names)
