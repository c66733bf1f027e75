"""SQL sources: a query behind any SQLAlchemy URL maps onto the contract like a file does."""

from __future__ import annotations

import datetime as dt
import textwrap

import polars as pl
import pytest
import sqlalchemy as sa

from cxdata.config import load_config
from cxdata.errors import IngestError
from cxdata.io import SOURCE_COLUMN, load_table

CRM_ROWS = [
    {"id": 1, "mail": "ana@example.com", "signed_up": "2023-05-01 09:30:00", "tier": "gold"},
    {"id": 2, "mail": None, "signed_up": "2023-06-01 18:00:00", "tier": "silver"},
]


def fill(url: str, table: str = "crm_customers", schema: str | None = None) -> None:
    engine = sa.create_engine(url)
    meta = sa.MetaData(schema=schema)
    crm = sa.Table(
        table,
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("mail", sa.String),
        sa.Column("signed_up", sa.DateTime),
        sa.Column("tier", sa.String),
    )
    meta.create_all(engine)
    rows = [{**r, "signed_up": dt.datetime.fromisoformat(r["signed_up"])} for r in CRM_ROWS]
    with engine.begin() as conn:
        conn.execute(crm.insert(), rows)
    engine.dispose()


def crm_config(tmp_path, url: str, query: str, timezone: str = "Europe/London"):
    path = tmp_path / "cxdata.yaml"
    path.write_text(
        textwrap.dedent(
            f"""
            name: t
            timezone: {timezone}
            sources:
              customers:
                url: "{url}"
                query: "{query}"
                columns: {{customer_ref: id, email: mail, created_at: signed_up}}
            """
        ),
        encoding="utf-8",
    )
    return load_config(path, environ={})


def check_customers(frame: pl.DataFrame) -> None:
    assert frame["customer_ref"].to_list() == ["1", "2"]
    assert frame["email"].to_list() == ["ana@example.com", None]
    assert frame.schema["created_at"] == pl.Datetime("us", "UTC")
    # London is on BST (UTC+1) in May and June.
    assert frame["created_at"].to_list() == [
        dt.datetime(2023, 5, 1, 8, 30, tzinfo=dt.UTC),
        dt.datetime(2023, 6, 1, 17, 0, tzinfo=dt.UTC),
    ]
    assert frame["tier"].to_list() == ["gold", "silver"]


def test_sqlite_file_source_relative_to_config(tmp_path):
    fill(f"sqlite:///{tmp_path / 'crm.sqlite'}")
    config = crm_config(tmp_path, "sqlite:///crm.sqlite", "select * from crm_customers order by id")
    frame = load_table(config, "customers")
    check_customers(frame)
    assert frame[SOURCE_COLUMN].unique().to_list() == [f"query on sqlite:///{tmp_path / 'crm.sqlite'}"]


def test_duckdb_file_source(tmp_path):
    fill(f"duckdb:///{tmp_path / 'crm.duckdb'}")
    config = crm_config(tmp_path, "duckdb:///crm.duckdb", "select * from crm_customers order by id")
    check_customers(load_table(config, "customers"))


def test_postgresql_source(tmp_path, pg_schema):
    url, schema = pg_schema
    fill(url, schema=schema)
    config = crm_config(tmp_path, url, f"select * from {schema}.crm_customers order by id")
    check_customers(load_table(config, "customers"))


def test_unreachable_database_is_one_clear_error_without_the_password(tmp_path):
    url = "postgresql+psycopg://cx:hunter2@127.0.0.1:1/crm?connect_timeout=2"
    config = crm_config(tmp_path, url, "select 1")
    with pytest.raises(IngestError) as info:
        load_table(config, "customers")
    message = str(info.value)
    assert message.startswith("source 'customers': the query on postgresql+psycopg://cx:***@127.0.0.1:1/crm")
    assert "hunter2" not in message


def test_bad_query_names_the_source(tmp_path):
    fill(f"sqlite:///{tmp_path / 'crm.sqlite'}")
    config = crm_config(tmp_path, "sqlite:///crm.sqlite", "select * from no_such_table")
    with pytest.raises(IngestError, match=r"source 'customers': the query .* failed: no such table"):
        load_table(config, "customers")
