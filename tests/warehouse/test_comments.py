"""Comments in sql/ document every column and land in the catalog on every publish; a real run on PostgreSQL
leaves no column of any mart or view without one."""

from __future__ import annotations

import polars as pl
import pytest
import sqlalchemy as sa

from cxdata import schema
from cxdata.warehouse import Warehouse, WarehouseError
from cxdata.warehouse.comments import comments_for, parse_comments, sql_dir

LINEAGE = {"_source": pl.String(), "_loaded_at": pl.Datetime("us", "UTC")}


def staged_columns(table: schema.Table) -> dict[str, pl.DataType]:
    """What staging adds to a table's canonical columns: the lineage, and an event table's day."""
    days = {schema.PARTITION_COLUMN: pl.Date()} if table.name in schema.EVENT_TIMES else {}
    return {**LINEAGE, **days}


def canonical_frame(table: schema.Table, rows: int = 3) -> pl.DataFrame:
    """An all-null frame with every canonical column of ``table``, the lineage columns and one extra column."""
    columns = {**table.polars_schema(), **staged_columns(table), "crm_segment": pl.String()}
    return pl.DataFrame({name: pl.repeat(None, rows, dtype=dtype, eager=True) for name, dtype in columns.items()})


@pytest.mark.parametrize("table", list(schema.TABLES.values()), ids=list(schema.TABLES))
def test_every_canonical_column_has_a_comment_statement(table):
    path = sql_dir() / f"stg_{table.name}.sql"
    documented = parse_comments(path.read_text(encoding="utf-8"), f"stg_{table.name}", str(path))
    by_column = {comment.column: comment.text for comment in documented}

    expected = {None, *table.column_names, *staged_columns(table)}
    assert expected <= set(by_column), f"{path.name} lacks comments for {expected - set(by_column)}"
    assert set(by_column) <= expected, f"{path.name} documents unknown columns {set(by_column) - expected}"
    assert all(text.strip() for text in by_column.values())
    timestamps = [c.name for c in table.columns if c.kind == "timestamp"] + ["_loaded_at"]
    assert all("UTC" in by_column[name] for name in timestamps), "timestamp comments must say UTC"


def test_publishing_stg_orders_documents_every_column(wh):
    frame = canonical_frame(schema.table("orders"))

    wh.publish("stg_orders", frame)

    in_catalog = wh.column_comments("stg_orders")
    expected = {comment.column: comment.text for comment in comments_for("stg_orders")}
    assert list(in_catalog) == frame.columns
    assert {name: text for name, text in in_catalog.items() if name != "crm_segment"} == {
        name: text for name, text in expected.items() if name is not None
    }
    assert in_catalog["crm_segment"] is None  # extra source columns are kept, undocumented
    assert wh.table_comment("stg_orders") == expected[None]


@pytest.mark.parametrize("name", sorted(f"stg_{t}" for t in schema.TABLES))
def test_every_staging_table_publishes_with_comments(wh, name):
    frame = canonical_frame(schema.table(name.removeprefix("stg_")), rows=1)

    wh.publish(name, frame)

    assert all(text for column, text in wh.column_comments(name).items() if column != "crm_segment")
    assert wh.table_comment(name)


def test_comments_for_missing_columns_are_skipped_and_reapplied_on_republish(wh):
    wh.publish("stg_orders", pl.DataFrame({"order_id": ["a"], "amount": [1.0]}))
    wh.publish("stg_orders", pl.DataFrame({"order_id": ["a"], "amount": [1.0], "ordered_at": [None]}))

    in_catalog = wh.column_comments("stg_orders")
    assert set(in_catalog) == {"order_id", "amount", "ordered_at"}
    assert all(in_catalog.values())
    assert "UTC" in in_catalog["ordered_at"]


def test_comment_text_with_quotes_and_placeholders_is_applied_verbatim(wh, tmp_path, monkeypatch):
    text = "it's 100% :literal -- not a comment; %(name)s $1 ?"
    (tmp_path / "notes.sql").write_text(
        "-- a file a packager pointed CXDATA_SQL_DIR at\n"
        f"comment on table notes is '{text.replace(chr(39), chr(39) * 2)}';\n"
        "/* block comment; with a semicolon */\n"
        "comment on column notes.Body is 'the body';\n"
        "comment on column notes.absent is 'skipped';\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("CXDATA_SQL_DIR", str(tmp_path))

    wh.publish("notes", pl.DataFrame({"body": ["x"], "other": ["y"]}))

    assert wh.table_comment("notes") == text
    assert wh.column_comments("notes") == {"body": "the body", "other": None}


def test_comment_files_may_only_hold_comments_on_their_own_table(wh, tmp_path, monkeypatch):
    monkeypatch.setenv("CXDATA_SQL_DIR", str(tmp_path))
    (tmp_path / "wrong_table.sql").write_text("comment on table other is 'x';", encoding="utf-8")
    (tmp_path / "not_comments.sql").write_text("drop table not_comments;", encoding="utf-8")

    with pytest.raises(WarehouseError, match=r"'wrong_table'.*documents table 'other'"):
        wh.publish("wrong_table", pl.DataFrame({"x": [1]}))
    with pytest.raises(WarehouseError, match=r"'not_comments'.*only contain 'comment on"):
        wh.publish("not_comments", pl.DataFrame({"x": [1]}))
    assert wh.tables() == []


def test_tables_without_a_comment_file_publish_undocumented(wh):
    wh.publish("scratch", pl.DataFrame({"x": [1]}))

    assert wh.column_comments("scratch") == {"x": None}
    assert wh.table_comment("scratch") is None


@pytest.fixture(scope="module")
def pipeline_schema(materialised_on_postgresql):
    """The session's whole-graph run on PostgreSQL (tests/conftest.py)."""
    run = materialised_on_postgresql
    assert run.outcome.success, run.outcome.failures
    with Warehouse(run.url, run.schema) as wh:
        yield wh


CATALOG_COMMENTS = """
select c.relname as relation, c.relkind as kind, pg_catalog.obj_description(c.oid, 'pg_class') as about,
       a.attname as column_name, pg_catalog.col_description(c.oid, a.attnum) as comment
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
where n.nspname = :schema and c.relkind in ('r', 'v')
order by 1, a.attnum
"""


def test_every_column_of_every_mart_and_view_has_a_comment_on_postgresql(pipeline_schema):
    wh = pipeline_schema
    catalog = wh.query(CATALOG_COMMENTS, {"schema": wh.schema})
    # extra source columns (kept, not part of the contract) are the only ones nobody can document in advance
    canonical = {f"stg_{t.name}": {*t.column_names, *staged_columns(t)} for t in schema.TABLES.values()}
    undocumented = [
        (row["relation"], row["column_name"])
        for row in catalog.iter_rows(named=True)
        if row["comment"] is None and row["column_name"] in canonical.get(row["relation"], {row["column_name"]})
    ]
    relations = set(catalog["relation"])

    assert {"dim_customer", "dim_customer_pii", "fct_orders", "customer_scores", "segment_members"} <= relations
    assert {"bi_customer_overview", "bi_kpis_daily", "bi_segments", "marketing_segment_export"} <= relations
    assert undocumented == []
    assert catalog.filter(pl.col("about").is_null())["relation"].unique().to_list() == []
    assert catalog.filter(pl.col("relation").str.starts_with("bi_"))["kind"].unique().to_list() == ["v"]


def test_roles_on_a_real_run_withhold_every_table_with_personal_columns(pipeline_schema):
    from cxdata.warehouse.roles import BI_ROLE, MARKETING_ROLE, grant_roles

    wh = pipeline_schema
    report = grant_roles(wh)

    with_personal = set(
        wh.query(
            "select distinct table_name from information_schema.columns where table_schema = :schema"
            " and column_name in ('email', 'phone', 'first_name', 'last_name', 'postcode', 'identifier_value')"
            " and table_name not like 'marketing%'",
            {"schema": wh.schema},
        )["table_name"]
    )
    assert {"dim_customer_pii", "customer_identity", "stg_customers"} <= with_personal
    assert with_personal <= set(report.withheld)
    assert not with_personal & set(report.readable[BI_ROLE]) and not with_personal & set(
        report.readable[MARKETING_ROLE]
    )
    assert {"dim_customer", "fct_orders", "bi_customer_overview"} <= set(report.readable[BI_ROLE])
    assert "marketing_segment_export" in report.readable[MARKETING_ROLE]
    with wh.engine.connect() as conn:
        conn.exec_driver_sql(f"SET ROLE {BI_ROLE}")
        assert conn.execute(sa.text("select count(*) from bi_customer_overview")).scalar_one() > 0
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.execute(sa.text("select email from dim_customer_pii"))
