"""Comments in sql/stg_*.sql document every canonical column and land in the catalog on every publish."""

from __future__ import annotations

import polars as pl
import pytest

from cxdata import schema
from cxdata.warehouse import WarehouseError
from cxdata.warehouse.comments import comments_for, parse_comments, sql_dir

LINEAGE = {"_source": pl.String(), "_loaded_at": pl.Datetime("us", "UTC")}


def canonical_frame(table: schema.Table, rows: int = 3) -> pl.DataFrame:
    """An all-null frame with every canonical column of ``table``, the lineage columns and one extra column."""
    columns = {**table.polars_schema(), **LINEAGE, "crm_segment": pl.String()}
    return pl.DataFrame({name: pl.repeat(None, rows, dtype=dtype, eager=True) for name, dtype in columns.items()})


@pytest.mark.parametrize("table", list(schema.TABLES.values()), ids=list(schema.TABLES))
def test_every_canonical_column_has_a_comment_statement(table):
    path = sql_dir() / f"stg_{table.name}.sql"
    documented = parse_comments(path.read_text(encoding="utf-8"), f"stg_{table.name}", str(path))
    by_column = {comment.column: comment.text for comment in documented}

    expected = {None, *table.column_names, *LINEAGE}
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
