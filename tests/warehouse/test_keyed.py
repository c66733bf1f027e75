"""Staged keys: `Transaction.replace_keys` deletes the rows of the given keys and inserts the new ones in the
transaction, and `Warehouse.read(where_in=)` reads the rows of the given keys; both join a temporary table,
so 100k+ keys work where one parameter per key would not."""

from __future__ import annotations

import os
import subprocess
import sys

import polars as pl
import pytest
import sqlalchemy as sa
from polars.testing import assert_frame_equal

from cxdata.faults import ENV as CRASH_ENV
from cxdata.warehouse import Warehouse, WarehouseError, keyed
from cxdata.warehouse.keyed import KEYS_PREFIX

MANY = 120_000  # beyond psycopg's 65,535 parameters per statement


def identity(customers: int, version: str = "v1") -> pl.DataFrame:
    """Two identifiers per customer, C0 to C<customers - 1>."""
    return pl.DataFrame(
        {
            "customer_key": [f"C{i}" for i in range(customers) for _ in range(2)],
            "identifier_type": ["email", "phone"] * customers,
            "identifier_value": [f"{kind}{i}" for i in range(customers) for kind in ("e", "p")],
            "version": [version] * (2 * customers),
        }
    )


def leftovers(wh: Warehouse) -> list[str]:
    names = wh.query("select table_name from information_schema.tables")["table_name"]
    return names.filter(names.str.starts_with(KEYS_PREFIX) | names.str.starts_with("_cxstg_")).to_list()


def sorted_rows(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(frame.columns, nulls_last=True)


def test_replace_keys_deletes_exactly_the_given_keys_and_inserts_the_rows(wh):
    wh.publish("customer_identity", identity(10))
    new = identity(12, "v2").filter(pl.col("customer_key").is_in(["C3", "C5", "C11"]))
    touched = pl.DataFrame({"customer_key": ["C3", "C5", "C7", "C11"]})  # C7 is gone, C11 is new

    with wh.transaction() as tx:
        result = tx.replace_keys("customer_identity", new, on=["customer_key"], keys=touched)

    assert result.rows == 6
    found = wh.read("customer_identity")
    kept = identity(10).filter(~pl.col("customer_key").is_in(["C3", "C5", "C7"]))
    assert_frame_equal(sorted_rows(found), sorted_rows(pl.concat([kept, new])))
    assert leftovers(wh) == []


def test_keys_default_to_the_rows_own_keys_and_a_rerun_replaces_its_own_rows(wh):
    wh.publish("customer_identity", identity(5))
    new = identity(5, "v2").filter(pl.col("customer_key") == "C2")
    for _ in range(2):
        with wh.transaction() as tx:
            tx.replace_keys("customer_identity", new, on="customer_key")  # one column by name
    found = wh.read("customer_identity")
    assert found.height == 10
    assert found.filter(pl.col("customer_key") == "C2")["version"].to_list() == ["v2", "v2"]
    assert set(found.filter(pl.col("customer_key") != "C2")["version"]) == {"v1"}


def test_several_key_columns_match_as_a_tuple(wh):
    keys_table = pl.DataFrame(
        {"source_table": ["orders", "orders", "tickets", "tickets"], "record_id": ["1", "2", "1", "2"]}
    ).with_columns(customer_key=pl.lit("old"))
    wh.publish("identity_record_keys", keys_table)
    rows = pl.DataFrame({"source_table": ["tickets"], "record_id": ["1"], "customer_key": ["new"]})
    keys = pl.DataFrame({"source_table": ["tickets", "orders"], "record_id": ["1", "3"]})  # orders 1 stays
    with wh.transaction() as tx:
        tx.replace_keys("identity_record_keys", rows, on=["source_table", "record_id"], keys=keys)
    found = sorted_rows(wh.read("identity_record_keys"))
    assert found.rows() == [
        ("orders", "1", "old"),
        ("orders", "2", "old"),
        ("tickets", "1", "new"),
        ("tickets", "2", "old"),
    ]


def test_a_null_key_matches_nothing_and_rows_with_a_null_key_are_never_deleted(wh):
    table = pl.DataFrame({"source_table": ["a", "a", None], "record_id": ["1", None, "9"], "v": [1, 2, 3]})
    wh.publish("t", table)
    keys = pl.DataFrame({"source_table": ["a", None, "a"], "record_id": [None, "9", "1"]})
    rows = pl.DataFrame({"source_table": ["a", None], "record_id": ["1", "9"], "v": [10, 30]})
    with wh.transaction() as tx:
        tx.replace_keys("t", rows, on=["source_table", "record_id"], keys=keys)
    # only (a, 1) matched; (a, null) and (null, 9) stayed, and the new (null, 9) came beside the old one
    assert sorted_rows(wh.read("t")).rows() == [
        ("a", "1", 10),
        ("a", None, 2),
        (None, "9", 3),
        (None, "9", 30),
    ]


def test_a_missing_table_is_created_from_the_rows_and_new_columns_are_added(wh):
    rows = identity(3)
    with wh.transaction() as tx:
        tx.replace_keys("customer_identity", rows, on=["customer_key"])
    assert_frame_equal(sorted_rows(wh.read("customer_identity")), sorted_rows(rows))

    wider = identity(1, "v2").with_columns(status=pl.lit("linked"))
    with wh.transaction() as tx:
        tx.replace_keys("customer_identity", wider, on=["customer_key"])
    found = sorted_rows(wh.read("customer_identity"))
    assert found.columns == [*rows.columns, "status"]
    assert found["status"].to_list() == ["linked", "linked", None, None, None, None]
    assert leftovers(wh) == []


def test_replace_keys_is_all_or_nothing_with_the_rest_of_the_transaction(wh):
    wh.publish("customer_identity", identity(4))
    wh.publish("marts", pl.DataFrame({"version": ["v1"]}))
    with pytest.raises(RuntimeError, match="boom"), wh.transaction() as tx:
        tx.replace_keys("customer_identity", identity(1, "v2"), on=["customer_key"])
        tx.publish("marts", pl.DataFrame({"version": ["v2"]}))
        raise RuntimeError("boom")
    assert set(wh.read("customer_identity")["version"]) == {"v1"}
    assert wh.read("marts")["version"].to_list() == ["v1"]
    assert leftovers(wh) == []


def test_a_failure_while_making_it_visible_leaves_the_table_as_it_was(wh, monkeypatch):
    wh.publish("customer_identity", identity(4))

    def fail(*_args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(keyed, "drop_keys_table", fail)  # after the delete and insert ran
    with pytest.raises(RuntimeError, match="disk full"), wh.transaction() as tx:
        tx.replace_keys("customer_identity", identity(2, "v2"), on=["customer_key"])
    monkeypatch.undo()
    assert_frame_equal(sorted_rows(wh.read("customer_identity")), sorted_rows(identity(4)))
    assert leftovers(wh) == []


def test_many_keys_replace_and_read_without_a_parameter_per_key(wh):
    wh.publish("customer_identity", identity(MANY + 1_000))
    touched = pl.DataFrame({"customer_key": [f"C{i}" for i in range(0, 2 * MANY, 2)]})  # half are new keys
    rows = identity(2 * MANY, "v2").join(touched, on="customer_key", how="semi")
    with wh.transaction() as tx:
        tx.replace_keys("customer_identity", rows, on=["customer_key"], keys=touched)

    found = wh.read("customer_identity", columns=["customer_key", "version"])
    existing_touched = (MANY + 1_000) // 2  # the even keys below C<MANY + 1000>
    assert found.height == 2 * (MANY + 1_000) - 2 * existing_touched + 2 * MANY
    replaced = found.join(touched, on="customer_key", how="semi")
    assert replaced.height == 2 * MANY and set(replaced["version"]) == {"v2"}
    assert set(found.join(touched, on="customer_key", how="anti")["version"]) == {"v1"}

    read = wh.read("customer_identity", columns=["customer_key", "version"], where_in=touched)
    assert_frame_equal(sorted_rows(read), sorted_rows(replaced))
    assert leftovers(wh) == []


def test_where_in_reads_the_rows_of_the_given_keys_beside_the_other_filters(wh):
    wh.publish("customer_identity", identity(50))
    wanted = pl.DataFrame(
        {"identifier_type": ["email", "phone", "email", None], "identifier_value": ["e3", "p3", "e7", "e9"]}
    )
    found = wh.read("customer_identity", ["customer_key", "identifier_value"], where_in=wanted)
    assert sorted_rows(found).rows() == [("C3", "e3"), ("C3", "p3"), ("C7", "e7")]  # the null key matches nothing
    emails = wh.read(
        "customer_identity", ["identifier_value"], where={"identifier_type": "email"}, where_in=wanted
    )
    assert sorted(emails["identifier_value"]) == ["e3", "e7"]
    assert wh.read("customer_identity", where_in=wanted.clear()).is_empty()
    # None in ``where`` matches null, as an append's replace does
    wh.publish("t", pl.DataFrame({"k": [1, None, 3], "v": ["a", "b", "c"]}))
    assert wh.read("t", ["v"], where={"k": None})["v"].to_list() == ["b"]
    lazy = wh.scan("customer_identity").filter(pl.col("identifier_type") == "phone").select("customer_key")
    assert lazy.collect().height == 50
    assert leftovers(wh) == []


def test_bad_keys_are_refused_naming_the_column(wh):
    wh.publish("t", pl.DataFrame({"k": [1, 2], "v": ["a", "b"]}))
    rows = pl.DataFrame({"k": [1], "v": ["c"]})
    with pytest.raises(WarehouseError, match=r"the rows have no key column\(s\) \['id'\]"), wh.transaction() as tx:
        tx.replace_keys("t", rows, on=["id"])
    with pytest.raises(WarehouseError, match=r"the keys frame has no column\(s\) \['k'\]"), wh.transaction() as tx:
        tx.replace_keys("t", rows, on=["k"], keys=pl.DataFrame({"key": [1]}))
    with pytest.raises(WarehouseError, match="do not convert to the rows' key dtypes"), wh.transaction() as tx:
        tx.replace_keys("t", rows, on=["k"], keys=pl.DataFrame({"k": ["one"]}))
    with pytest.raises(WarehouseError, match="invalid column name"):
        wh.read("t", where_in=pl.DataFrame({"k; drop table t": [1]}))
    assert wh.read("t").height == 2


def test_replace_keys_takes_the_append_lock_on_postgres(pg_schema, monkeypatch):
    url, schema = pg_schema
    probe = sa.create_engine(url)
    held: list[bool] = []
    drop = keyed.drop_keys_table

    def check_then_drop(wh, conn, table_sql):
        with probe.connect() as other:
            free = other.execute(
                sa.text("select pg_try_advisory_lock(hashtext(:key))"), {"key": f"cxdata.append:{schema}.t"}
            ).scalar_one()
            if free:
                other.execute(
                    sa.text("select pg_advisory_unlock(hashtext(:key))"), {"key": f"cxdata.append:{schema}.t"}
                )
        held.append(not free)
        drop(wh, conn, table_sql)

    monkeypatch.setattr(keyed, "drop_keys_table", check_then_drop)
    with Warehouse(url, schema) as wh:
        wh.publish("t", pl.DataFrame({"k": [1, 2]}))
        with wh.transaction() as tx:
            tx.replace_keys("t", pl.DataFrame({"k": [2]}), on=["k"])
        assert sorted(wh.read("t")["k"]) == [1, 2]
    probe.dispose()
    assert held == [True]


# A keyed replace beside a publish, as its own process, so a crash point can kill it.
REPLACE = """
import sys
import polars as pl
from cxdata.warehouse import Warehouse
url, schema = sys.argv[1], sys.argv[2] or None
with Warehouse(url, schema) as wh, wh.transaction() as tx:
    tx.publish("marts", pl.DataFrame({"version": ["v2"]}))
    rows = pl.DataFrame({"customer_key": ["C1"], "version": ["v2"]})
    keys = pl.DataFrame({"customer_key": ["C1", "C2"]})
    tx.replace_keys("customer_identity", rows, on=["customer_key"], keys=keys)
"""


@pytest.mark.parametrize("point", ["publish:customer_identity:staged", "publish:marts:visible"])
def test_a_kill_during_a_keyed_replace_leaves_the_previous_version(warehouse_target, point):
    url, schema = warehouse_target
    with Warehouse(url, schema) as wh:
        wh.publish("customer_identity", pl.DataFrame({"customer_key": ["C1", "C2", "C3"], "version": ["v1"] * 3}))
        wh.publish("marts", pl.DataFrame({"version": ["v1"]}))
    env = {**os.environ, CRASH_ENV: point}
    killed = subprocess.run(
        [sys.executable, "-c", REPLACE, url, schema or ""], env=env, capture_output=True, text=True, timeout=120
    )
    assert killed.returncode == -9, killed.stderr
    with Warehouse(url, schema) as wh:
        assert sorted(wh.read("customer_identity")["customer_key"]) == ["C1", "C2", "C3"]
        assert wh.read("marts")["version"].to_list() == ["v1"]
        assert leftovers(wh) == []
    done = subprocess.run([sys.executable, "-c", REPLACE, url, schema or ""], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with Warehouse(url, schema) as wh:
        assert sorted(wh.read("customer_identity").rows()) == [("C1", "v2"), ("C3", "v1")]
