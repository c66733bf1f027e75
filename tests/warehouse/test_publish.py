"""Publishing replaces tables atomically, survives injected failures and refuses hostile names."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
import sqlalchemy as sa
from polars.testing import assert_frame_equal

from cxdata.warehouse import PublishResult, Warehouse, WarehouseError, comments, loaders
from cxdata.warehouse import transaction as transaction_module
from cxdata.warehouse.core import keep_order
from cxdata.warehouse.identifiers import STAGING_PREFIX


def test_publish_creates_and_reports(wh):
    frame = pl.DataFrame({"order_id": ["a", "b"], "amount": [1.5, 2.5]})

    result = wh.publish("orders", frame)

    assert isinstance(result, PublishResult)
    assert result.table == "orders"
    assert result.rows == 2
    assert result.columns == (
        {"order_id": "VARCHAR", "amount": "DOUBLE"}
        if wh.dialect == "duckdb"
        else {"order_id": "text", "amount": "double precision"}
    )
    assert result.seconds > 0
    assert wh.exists("orders")
    assert wh.row_count("orders") == 2
    assert wh.tables() == ["orders"]


def test_read_named_columns_only(wh):
    frame = pl.DataFrame({"order_id": ["a", "b"], "amount": [1.5, 2.5], "email": ["x@y.es", None]})
    wh.publish("orders", frame)

    assert wh.columns("orders") == ["order_id", "amount", "email"]
    assert_frame_equal(wh.read("orders", columns=["email", "order_id"]), frame.select("email", "order_id"))
    with pytest.raises(WarehouseError, match="phone"):
        wh.read("orders", columns=["order_id", "phone"])


def test_read_rows_matching_bound_values(wh):
    frame = pl.DataFrame(
        {"source_table": ["orders", "tickets", "orders"], "record_id": ["1", "2", "3' or '1'='1"]}
    )
    wh.publish("keys", frame)

    orders = wh.read("keys", columns=["record_id"], where={"source_table": "orders"})
    assert orders["record_id"].sort().to_list() == ["1", "3' or '1'='1"]
    # the value is bound, never spliced into the statement
    assert wh.read("keys", where={"record_id": "3' or '1'='1"}).height == 1
    assert wh.read("keys", where={"source_table": "x' or '1'='1"}).height == 0


def test_publish_replaces_rows_and_schema(wh):
    wh.publish("orders", pl.DataFrame({"order_id": ["a", "b", "c"], "amount": [1.0, 2.0, 3.0]}))
    replacement = pl.DataFrame({"order_id": [10, 20], "status": ["done", None], "flag": [True, False]})

    wh.publish("orders", replacement)

    assert_frame_equal(wh.read("orders"), replacement)
    assert wh.tables() == ["orders"]


def test_publish_goes_to_the_named_schema(warehouse_target):
    url, fixture_schema = warehouse_target
    # A schema nobody has created yet: the Warehouse must create it.
    schema = f"{fixture_schema}_marts" if fixture_schema else "marts"
    try:
        with Warehouse(url, schema) as wh:
            wh.publish("scores", pl.DataFrame({"x": [1, 2, 3]}))
            located = wh.query("select table_schema from information_schema.tables where table_name = 'scores'")[
                "table_schema"
            ].to_list()
            # Unqualified SQL resolves in the warehouse schema too.
            via_search_path = wh.query("select count(*) as n from scores")["n"].item()
        with Warehouse(url, fixture_schema) as default:
            in_default = default.exists("scores")
    finally:
        if fixture_schema:
            with Warehouse(url, fixture_schema) as cleanup:
                cleanup.query(f'drop schema if exists "{schema}" cascade')

    assert located == [schema]
    assert via_search_path == 3
    assert not in_default


def _fail_after(original, message):
    def failing(*args, **kwargs):
        original(*args, **kwargs)
        raise RuntimeError(message)

    return failing


def test_failure_while_loading_keeps_the_previous_table(wh, monkeypatch, staging_tables):
    old = pl.DataFrame({"id": [1, 2, 3], "label": ["x", "y", "z"]})
    wh.publish("orders", old)
    monkeypatch.setattr(loaders, "bulk_load", _fail_after(loaders.bulk_load, "injected load failure"))

    with pytest.raises(WarehouseError, match=r"'orders'.*while loading rows.*injected load failure") as failure:
        wh.publish("orders", pl.DataFrame({"id": range(100), "label": ["new"] * 100}))

    assert isinstance(failure.value.__cause__, RuntimeError)
    assert_frame_equal(wh.read("orders"), old)
    assert staging_tables(wh) == []


def test_failure_while_swapping_keeps_the_previous_table(wh, monkeypatch, staging_tables):
    old = pl.DataFrame({"id": [1, 2, 3], "label": ["x", "y", "z"]})
    wh.publish("orders", old)
    during_swap: list[list[str]] = []

    def failing_comments(conn, *args):
        # The old table is already dropped and the staging table renamed in this transaction.
        during_swap.append(staging_tables(wh))
        raise RuntimeError("injected swap failure")

    monkeypatch.setattr(comments, "apply_comments", failing_comments)

    with pytest.raises(WarehouseError, match=r"'orders'.*while swapping.*injected swap failure"):
        wh.publish("orders", pl.DataFrame({"id": range(100), "label": ["new"] * 100}))

    # the swap really ran, and even then no other session could see the uncommitted staging table
    assert during_swap == [[]]
    assert_frame_equal(wh.read("orders"), old)
    assert staging_tables(wh) == []


def test_failed_first_publish_leaves_nothing(wh, monkeypatch, staging_tables):
    monkeypatch.setattr(loaders, "bulk_load", _fail_after(loaders.bulk_load, "injected load failure"))

    with pytest.raises(WarehouseError):
        wh.publish("fresh", pl.DataFrame({"id": [1]}))

    assert not wh.exists("fresh")
    assert staging_tables(wh) == []


HOSTILE_NAMES = [
    "orders; drop table orders",
    "orders--",
    'or"ders',
    "or'ders",
    "two words",
    "1orders",
    "",
    "schema.orders",
    "ordérs",
    "x" * 64,
    "_cxstg_orders",
    None,
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_table_names_are_refused(wh, name):
    wh.publish("orders", pl.DataFrame({"id": [1]}))

    for call in (
        lambda: wh.publish(name, pl.DataFrame({"id": [1]})),
        lambda: wh.read(name),
        lambda: wh.exists(name),
        lambda: wh.row_count(name),
        lambda: wh.column_comments(name),
    ):
        with pytest.raises(WarehouseError, match=r"invalid table name"):
            call()

    assert wh.tables() == ["orders"]
    assert wh.row_count("orders") == 1


def test_hostile_schema_name_is_refused(warehouse_target):
    url, _ = warehouse_target

    with pytest.raises(WarehouseError, match=r"invalid schema name 'public; drop schema public'"):
        Warehouse(url, "public; drop schema public")


def test_query_binds_parameters(wh):
    wh.publish("people", pl.DataFrame({"name": ["o'brien", "x'; drop table people; --", "plain"]}))

    hostile = wh.query("select name from people where name = :name", {"name": "nobody' or '1'='1"})
    quoted = wh.query("select name from people where name = :name", {"name": "o'brien"})
    several = wh.query("select count(*) as n from people where name in (:a, :b)", {"a": "plain", "b": "o'brien"})

    assert hostile.height == 0
    assert quoted["name"].to_list() == ["o'brien"]
    assert several["n"].item() == 2
    assert wh.row_count("people") == 3


def test_query_without_rows_and_with_percent_signs(wh):
    assert wh.query("create table notes (body varchar)").shape == (0, 0)
    wh.query("insert into notes values ('100% sure'), (:body)", {"body": "50%"})

    assert wh.query("select body from notes where body like '%sure'")["body"].to_list() == ["100% sure"]
    assert wh.query("select body from notes where body like :pattern", {"pattern": "5%"})["body"].to_list() == [
        "50%"
    ]


def test_errors_name_the_table_and_what_failed(wh):
    with pytest.raises(WarehouseError, match=r"table 'missing' does not exist in schema"):
        wh.read("missing")
    with pytest.raises(WarehouseError, match=r"table 'missing' does not exist"):
        wh.row_count("missing")
    with pytest.raises(
        WarehouseError, match=r"query on schema .* failed: .*(query: select \* from missing)"
    ) as failure:
        wh.query("select * from missing")
    assert failure.value.__cause__ is not None


def test_messages_never_show_the_password():
    # Nothing listens on port 1, so connecting fails at once; the URL carries a secret.
    with pytest.raises(WarehouseError) as failure:
        Warehouse("postgresql://cx:s3cr3t-pw@127.0.0.1:1/db", "marts")

    message = str(failure.value)
    assert "s3cr3t-pw" not in message
    assert "postgresql+psycopg://cx:***@127.0.0.1:1/db" in message


def test_bare_postgresql_urls_use_psycopg3(pg_schema):
    url, schema = pg_schema
    bare = sa.make_url(url).set(drivername="postgresql")

    with Warehouse(bare.render_as_string(hide_password=False), schema) as wh:
        assert wh.engine.url.drivername == "postgresql+psycopg"
        assert wh.dialect == "postgresql"
        assert wh.query("select 1 as one")["one"].item() == 1


def test_duckdb_file_folder_is_created(tmp_path):
    path = tmp_path / "nested" / "folder" / "warehouse.duckdb"

    with Warehouse(f"duckdb:///{path}") as wh:
        wh.publish("t", pl.DataFrame({"x": [1]}))
        assert wh.dialect == "duckdb"
        assert wh.schema == "main"

    assert path.is_file()


def test_scan_reads_only_what_the_query_uses(wh, monkeypatch):
    frame = pl.DataFrame(
        {"order_id": ["a", "b", "c"], "amount": [1.5, -2.0, 3.0], "email": ["x@y.es", None, "z@y.es"]}
    )
    wh.publish("orders", frame)
    reads = []
    read = wh.read
    monkeypatch.setattr(wh, "read", lambda name, **kw: reads.append(kw.get("columns")) or read(name, **kw))

    scanned = wh.scan("orders")
    assert scanned.collect_schema() == frame.schema
    got = scanned.filter(pl.col("amount") > 0).select("order_id").collect()
    assert got["order_id"].to_list() == ["a", "c"]
    assert reads and set(reads[-1]) == {"order_id", "amount"}
    assert_frame_equal(wh.scan("orders").collect(), frame)


def test_append_keeps_earlier_rows_and_replaces_the_rows_named(wh):
    first = pl.DataFrame({"as_of": ["d1", "d1"], "key": ["a", "b"]})
    wh.append("members", first)  # a table that does not exist yet is created
    wh.append("members", pl.DataFrame({"as_of": ["d2"], "key": ["a"]}))
    assert wh.read("members").sort("as_of", "key").rows() == [("d1", "a"), ("d1", "b"), ("d2", "a")]

    wh.append("members", pl.DataFrame({"as_of": ["d2"], "key": ["c"]}), replace={"as_of": "d2"})
    assert wh.read("members").sort("as_of", "key").rows() == [("d1", "a"), ("d1", "b"), ("d2", "c")]

    # a new column is added (null for the earlier rows), a missing one is null, a list replaces any of its values
    wh.append("members", pl.DataFrame({"as_of": ["d3"], "n": [7]}), replace={"as_of": ["d1", "d2"]})
    assert wh.read("members").sort("as_of").rows() == [("d3", None, 7)]
    assert wh.columns("members") == ["as_of", "key", "n"]


def test_append_to_a_table_stages_outside_the_schema_and_survives_its_drop(wh, monkeypatch, staging_tables):
    wh.append("members", pl.DataFrame({"as_of": ["d1"], "key": ["a"]}))
    seen: list[list[str]] = []
    real_insert = transaction_module.Transaction._insert

    def insert(self, staged):
        # this transaction's own view of the schema, where an uncommitted staging table would show
        listed = "select table_name, table_catalog from information_schema.tables where table_schema = :schema"
        rows = self._conn.execute(sa.text(listed), {"schema": wh.schema}).all()
        database = self._conn.execute(sa.text("select current_database()")).scalar_one()
        seen.append([name for name, held in rows if held == database and name.startswith(STAGING_PREFIX)])
        return real_insert(self, staged)

    monkeypatch.setattr(transaction_module.Transaction, "_insert", insert)
    with wh.transaction() as tx:
        tx.append("members", pl.DataFrame({"as_of": ["d2"], "key": ["b"]}), replace={"as_of": "d2"})
        # the table goes away before the end: the temporary staging table cannot be renamed into it
        wh._ddl(tx._conn, f"DROP TABLE {wh._qualified('members')}")
    assert seen == [[]]  # the rows waited in a temporary table, not in the schema
    assert wh.read("members").rows() == [("d2", "b")]
    assert staging_tables(wh) == []


def test_append_casts_to_the_table_types(wh):
    wh.append("runs", pl.DataFrame({"at": [dt.datetime(2026, 1, 1, tzinfo=dt.UTC)], "score": [1.5]}))
    # an all-null column arrives untyped, an integer where a float is held
    wh.append("runs", pl.DataFrame({"at": [None], "score": [2]}))
    held = wh.read("runs")
    assert held.schema == pl.Schema({"at": pl.Datetime("us", "UTC"), "score": pl.Float64})
    assert held.sort("score")["score"].to_list() == [1.5, 2.0]


def test_staged_tables_keep_their_row_order_and_marts_keep_their_rows(duckdb_url):
    # enough rows for DuckDB to load on several threads, where order is only kept when asked for
    frame = pl.DataFrame({"record_id": [f"r{i:07d}" for i in range(600_000)], "n": range(600_000)})
    with Warehouse(duckdb_url) as wh:
        wh.publish("stg_orders", frame)
        wh.publish("fct_orders", frame)
        assert_frame_equal(wh.read("stg_orders"), frame)  # identity numbers staged records in this order
        assert_frame_equal(wh.read("fct_orders").sort("n"), frame)
    names = (
        "stg_touches",
        "model_runs",
        "identity_record_keys",
        "customer_identity",
        "dim_customer",
        "cx_kpis_daily",
    )
    assert [keep_order(n) for n in names] == [True, True, False, False, False, False]
