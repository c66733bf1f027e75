"""Declared indexes on published tables: built before the swap, found under their final name, kept on republish."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from cxdata.warehouse import Warehouse
from cxdata.warehouse.identifiers import MAX_IDENTIFIER_LENGTH, STAGING_PREFIX
from cxdata.warehouse.indexes import INDEXES, index_name

AS_OF = dt.datetime(2026, 6, 30, 22, tzinfo=dt.UTC)
MEMBERS_INDEX = "segment_members__as_of_segment_customer_key_idx"


def members(rows: int, run_id: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "segment": pl.Series(["champions", "lost"] * (rows // 2)),
            "customer_key": [f"C{i:010d}" for i in range(rows)],
            "as_of": [AS_OF] * rows,
            "run_id": [run_id] * rows,
        }
    )


def pg_indexes(wh: Warehouse) -> pl.DataFrame:
    return wh.query(
        "select tablename, indexname, indexdef from pg_indexes where schemaname = :schema order by indexname",
        {"schema": wh.schema},
    )


@pytest.fixture
def pg(pg_schema):
    url, schema = pg_schema
    with Warehouse(url, schema) as wh:
        yield wh


def test_published_table_has_its_index_under_the_final_name_after_each_publish(pg):
    pg.publish("segment_members", members(10, "r1"))
    with pg.engine.begin() as conn:
        conn.exec_driver_sql(
            f'create view "{pg.schema}".segment_names as select distinct segment from segment_members'
        )
    pg.publish("segment_members", members(20, "r2"))  # the second swap must free the name for the new index
    found = pg_indexes(pg)
    assert found["indexname"].to_list() == [MEMBERS_INDEX]
    assert found["tablename"].to_list() == ["segment_members"]
    assert "(as_of, segment, customer_key)" in found["indexdef"][0]
    assert pg.read("segment_members")["run_id"].unique().to_list() == ["r2"]
    assert pg.query("select count(*) as n from segment_names")["n"][0] == 2  # the dependent view survived


def test_keyed_lookup_uses_the_index(pg):
    pg.publish("customer_scores", members(20_000, "r1").select("customer_key", "as_of"))
    plan = pg.query("explain select * from customer_scores where customer_key = :key", {"key": "C0000012345"})
    text = "\n".join(plan.to_series().to_list())
    assert "customer_scores__customer_key_idx" in text, text


def test_tables_without_a_declaration_or_without_the_columns_get_no_index(pg):
    pg.publish("model_runs", pl.DataFrame({"customer_key": ["C1"], "model": ["bgnbd"]}))
    pg.publish("segment_members", members(4, "r1").drop("segment"))
    assert pg_indexes(pg).is_empty()
    assert not any(name.startswith(STAGING_PREFIX) for name in pg_indexes(pg)["indexname"])


def test_duckdb_publishes_declared_tables_twice_without_indexes(duckdb_url):
    with Warehouse(duckdb_url) as wh:
        wh.publish("segment_members", members(10, "r1"))
        wh.publish("segment_members", members(20, "r2"))
        assert wh.row_count("segment_members") == 20
        assert wh.query("select count(*) as n from duckdb_indexes()")["n"][0] == 0


def test_index_names_fit_postgresql_identifiers():
    assert index_name("dim_customer_pii", ("customer_key",)) == "dim_customer_pii__customer_key_idx"
    long = index_name("t" * 60, ("customer_key",))
    assert len(long) == MAX_IDENTIFIER_LENGTH and long.startswith("t" * 60)
    assert set(INDEXES) == {
        "segment_members",
        "segment_membership",
        "segment_events",
        "sync_changes",
        "sync_members",
        "customer_scores",
        "customer_scores_history",
        "customer_activity",
        "dim_customer_pii",
        "customer_consent",
        "customer_identity",
        "identity_record_keys",
        "identity_links",
        "identity_record_hashes",
    }


def test_identity_lookups_use_their_indexes_and_keyed_replaces_keep_them(pg):
    keys = [f"C{i:010d}" for i in range(20_000)]
    identity = pl.DataFrame(
        {
            "identifier_type": ["email"] * 20_000,
            "identifier_value": [f"e{i}" for i in range(20_000)],
            "customer_key": keys,
        }
    )
    records = pl.DataFrame(
        {"source_table": ["orders"] * 20_000, "record_id": [str(i) for i in range(20_000)], "customer_key": keys}
    )
    pg.publish("customer_identity", identity)
    pg.publish("identity_record_keys", records)
    with pg.transaction() as tx:
        touched = pl.DataFrame({"customer_key": keys[:10]})
        tx.replace_keys("customer_identity", identity.head(10), on=["customer_key"], keys=touched)
        tx.replace_keys("identity_record_keys", records.head(10), on=["customer_key"], keys=touched)
    expected = {
        "customer_identity__identifier_type_identifier_value_idx",
        "customer_identity__customer_key_idx",
        "identity_record_keys__source_table_record_id_idx",
        "identity_record_keys__customer_key_idx",
    }
    assert set(pg_indexes(pg)["indexname"]) == expected
    lookups = {
        "customer_identity__identifier_type_identifier_value_idx": (
            "select * from customer_identity where identifier_type = 'email' and identifier_value = 'e5'"
        ),
        "customer_identity__customer_key_idx": (
            "select * from customer_identity where customer_key = 'C0000000005'"
        ),
        "identity_record_keys__source_table_record_id_idx": (
            "select * from identity_record_keys where source_table = 'orders' and record_id = '5'"
        ),
        "identity_record_keys__customer_key_idx": (
            "select * from identity_record_keys where customer_key = 'C0000000005'"
        ),
    }
    for index, lookup in lookups.items():
        plan = "\n".join(pg.query(f"explain {lookup}").to_series().to_list())
        assert index in plan, plan
