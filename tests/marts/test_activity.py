"""customer_activity follows what changed and dim_customer is its projection: after a day with new and existing
customers, a late order inside the lookback and a merge, and after as_of moves past a ticket's resolution and
a customer's lapsed threshold with no new data, the updated tables equal a full build; a delta that leaves out
the fact updates' or the moved as_of's customers does not; and a full build gives dim_customer as before."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cxdata.config import load_config
from cxdata.identity.step import identity_step
from cxdata.io.partitions import days_to_stage
from cxdata.io.step import stage_step
from cxdata.marts import activity_delta, incremental
from cxdata.marts.activity import AS_OF_STAMPS
from cxdata.marts.activity_delta import ACTIVITY, moved_queries
from cxdata.marts.customer_step import read_contacts
from cxdata.marts.delta import fact_touched_rows
from cxdata.marts.incremental import FACT_SOURCES
from cxdata.marts.step import build_activity, build_mart, mart_step
from cxdata.run_context import end_of_day, run_context
from cxdata.synth import SynthParams, generate_project
from cxdata.synth.days import hold_back_days
from cxdata.warehouse import Warehouse
from cxdata.warehouse.views import create_views
from tests.marts import reference_dim_customer
from tests.marts.test_incremental import ordered, plant
from tests.staged import project_tables, publish_until

__all__ = ["project_tables"]  # the fixture, imported for pytest
START = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
LATER = 45  # days as_of moves on with no new data: past tickets' resolutions and lapsed thresholds


def run(wh: Warehouse, config, run_id: str, at: dt.datetime) -> dict:
    """A daily run up to dim_customer: stage what is stale, resolve, update the facts, then dim_customer; the
    dim_customer step's facts."""
    for table in config.sources:
        stage_step(wh, config, table, run_id, at, days=days_to_stage(wh, config, table))
    context = run_context(wh, config, run_id, at)
    identity_step(wh, config, context)
    for name in FACT_SOURCES:
        mart_step(wh, config, name, context)
    return mart_step(wh, config, "dim_customer", context).facts


def assert_as_full_build(wh: Warehouse, config, run_id: str) -> None:
    """customer_activity and dim_customer as they are equal what a full build of the same facts makes."""
    context = run_context(wh, config, run_id)
    for name, whole in (
        (ACTIVITY, build_activity(wh, config, context)),
        ("dim_customer", build_mart(wh, config, "dim_customer", context)),
    ):
        table = wh.read(name)
        expected = ordered(whole.select(table.columns))
        assert_frame_equal(ordered(table), expected, check_exact=False, rel_tol=0, abs_tol=1e-9)


@pytest.fixture
def project(tmp_path):
    generated = generate_project(tmp_path / "p", SynthParams(customers=150, seed=23))
    held = hold_back_days(generated.config_path, days=1)
    # as_of follows the data (the end of the last staged day), as in a daily run
    return load_config(generated.config_path).model_copy(update={"as_of": None}), held


def add_to_new_day(config) -> str:
    """Add to the delivered day an order of a customer no record named before, and a ticket of a known
    customer answered the next day and solved ten days later; the ticket's customer_ref."""
    folder = config.source_path("orders")
    (new_day,) = [f for f in folder.iterdir() if f.name != "part-0-history.csv"]
    arrived = pl.read_csv(new_day, infer_schema=False)
    new = arrived.head(1).with_columns(
        pl.lit("999999998").alias("order_no"),
        pl.lit("NEW-CUSTOMER-1").alias("cust_id"),
        pl.lit("new.customer@example.com").alias("email_address"),
    )
    pl.concat([arrived, new]).write_csv(new_day)
    day = dt.date.fromisoformat(new_day.stem[-10:])
    tickets = config.source_path("tickets")
    known = pl.read_csv(tickets / "part-0-history.csv", infer_schema=False).head(1)
    stamp = lambda days: f"{day + dt.timedelta(days=days)}T10:00:00Z"  # noqa: E731
    planted = known.with_columns(
        pl.lit("CS9999999").alias("case_number"),
        pl.lit(stamp(0)).alias("created_at"),
        pl.lit(stamp(1)).alias("first_response_at"),
        pl.lit(stamp(10)).alias("solved_at"),
    )
    planted.write_csv(tickets / f"part-9-{day}.csv")
    return known["customer_id"][0]


def later(config, wh: Warehouse, days: int):
    """The config with as_of ``days`` after the one the last run resolved (no new data needed)."""
    last = wh.read("run_context")["as_of"].max()
    return config.model_copy(update={"as_of": (last + dt.timedelta(days=days)).date()})


def test_an_updated_day_and_a_later_as_of_equal_a_full_build(project, warehouse_target):
    config, held = project
    url, db_schema = warehouse_target
    with Warehouse(url, schema=db_schema) as wh:
        first = run(wh, config, "first", START)
        assert (first["mode"], first["mode_reason"]) == ("full", "customer_activity does not exist yet")
        before = wh.read(ACTIVITY)
        # (a) a new day with new and existing customers, (b) a late change inside the lookback, (c) a merge
        planted = plant(config, held)
        add_to_new_day(config)
        daily = run(wh, config, "daily", START + dt.timedelta(days=1))
        assert daily["mode"] == "incremental", daily
        assert daily["touched_by_facts"] > 0 and daily["touched_by_identity"] > 0 and daily["touched_by_time"] > 0
        assert daily["customers_rebuilt"] < before.height / 2  # only some customers were built again
        after = wh.read(ACTIVITY)
        assert set(after["customer_key"]) - set(before["customer_key"])  # new customers
        merged = wh.read("identity_merges", where={"run_id": "daily"})
        assert merged.height >= 1 and planted["bridge"]
        assert_as_full_build(wh, config, "daily")
        # (d) as_of moves on with nothing new: tickets resolve and buyers lapse on the way
        moved = later(config, wh, LATER)
        prev, as_of = wh.read("run_context")["as_of"].max(), end_of_day(moved.as_of, moved.timezone)
        tickets = wh.read("fct_tickets").filter(pl.col("customer_key").is_not_null())
        resolving = tickets.filter((pl.col("opened_at") <= prev) & pl.col("resolved_at").is_between(prev, as_of))
        answering = tickets.filter((pl.col("opened_at") <= prev) & (pl.col("first_response_at") > prev))
        assert resolving.height > 0 and answering.height > 0
        stages = wh.read("dim_customer", columns=["customer_key", "journey_stage"])
        facts = run(wh, moved, "later", START + dt.timedelta(days=2))
        assert facts["mode"] == "incremental" and facts["touched_by_time"] > 0, facts
        assert facts["touched_by_facts"] == 0
        now = wh.read("dim_customer", columns=["customer_key", "journey_stage", "open_tickets"])
        lapsed = stages.join(now, on="customer_key").filter(
            (pl.col("journey_stage") != "lapsed") & (pl.col("journey_stage_right") == "lapsed")
        )
        assert lapsed.height > 0
        assert_as_full_build(wh, moved, "later")


@pytest.mark.parametrize("dropped", ["facts", "time"])
def test_a_delta_without_a_source_of_customers_differs_from_a_full_build(project, monkeypatch, tmp_path, dropped):
    """The equality above can fail: without the fact updates' customers, or without the customers whose
    times as_of moved past, the update misses rows a full build changes."""
    config, held = project
    if dropped == "facts":
        monkeypatch.setattr(incremental, "fact_touched_rows", lambda mart, run_id, _: _no_rows(mart, run_id))
    else:
        monkeypatch.setattr(
            activity_delta, "moved_customers", lambda *_: pl.DataFrame(schema={"customer_key": str})
        )
    with Warehouse(f"duckdb:///{tmp_path / 'wh.duckdb'}") as wh:
        run(wh, config, "first", START)
        plant(config, held)
        add_to_new_day(config)
        run(wh, config, "daily", START + dt.timedelta(days=1))
        if dropped == "facts":  # the late change inside the lookback is a fact update's alone
            with pytest.raises(AssertionError):
                assert_as_full_build(wh, config, "daily")
            return
        moved = later(config, wh, LATER)
        run(wh, moved, "later", START + dt.timedelta(days=2))
        with pytest.raises(AssertionError):
            assert_as_full_build(wh, moved, "later")


def _no_rows(mart: str, run_id: str) -> pl.DataFrame:
    return fact_touched_rows(mart, run_id, pl.DataFrame(schema={"customer_key": pl.String}))


def test_each_time_that_decides_against_as_of_is_queried():
    queries = moved_queries()
    assert set(queries) == set(AS_OF_STAMPS)
    for table, stamps in AS_OF_STAMPS.items():
        for stamp in stamps:
            assert f"{stamp} > :after and {stamp} <= :as_of" in " ".join(queries[table].split()), (table, stamp)


@pytest.mark.parametrize("days_back", [0, 120])
def test_a_full_build_gives_dim_customer_as_before(project_tables, warehouse_target, days_back):
    """Regression: dim_customer, the view and its polars twin, equals the function it replaced
    (tests/marts/reference_dim_customer.py) on a generated project, at two moments (the second an as_of moved
    back, which builds customer_activity whole)."""
    config, tables = project_tables
    url, db_schema = warehouse_target
    with Warehouse(url, schema=db_schema) as wh:
        publish_until(wh, tables, None)
        context = run_context(wh, config, "only")
        identity_step(wh, config, context)
        for name in FACT_SOURCES:
            mart_step(wh, config, name, context)
        mart_step(wh, config, "dim_customer", context)
        context = type(context)("only", context.as_of - dt.timedelta(days=days_back), context.now)
        facts = mart_step(wh, config, "dim_customer", context).facts
        view = wh.read("dim_customer")
        built = build_mart(wh, config, "dim_customer", context)
        before = _reference(wh, config, context.as_of)
    assert facts["mode"] == ("incremental" if days_back == 0 else "full"), facts
    assert built.height > 300 and set(built["journey_stage"]) >= {"lapsed", "research", "use_repurchase"}
    assert_frame_equal(ordered(built), ordered(before))
    assert_frame_equal(ordered(view), ordered(before), check_exact=False, rel_tol=0, abs_tol=1e-9)


def _reference(wh: Warehouse, config, as_of: dt.datetime) -> pl.DataFrame:
    facts = {name: wh.read(name).lazy() for name in FACT_SOURCES}
    return reference_dim_customer.dim_customer(
        as_of,
        config.journey,
        orders=facts["fct_orders"],
        tickets=facts["fct_tickets"],
        surveys=facts["fct_surveys"],
        sessions=facts["fct_web_sessions"],
        touches=facts["fct_touches"],
        record_keys=wh.read("identity_record_keys", columns=["customer_key"]).lazy(),
        contacts=read_contacts(wh),
        currency=config.currency,
    ).collect()


def test_the_view_replaces_an_earlier_versions_table_and_keeps_the_views_on_it(project, warehouse_target):
    """A warehouse of an earlier version holds dim_customer as a table, with BI views on it: the step drops it
    for the view and the BI views read the view."""
    config, _ = project
    url, db_schema = warehouse_target
    with Warehouse(url, schema=db_schema) as wh:
        run(wh, config, "first", START)
        context = run_context(wh, config, "first")
        table = build_mart(wh, config, "dim_customer", context)
        with wh.engine.begin() as conn:
            conn.exec_driver_sql(f"DROP VIEW {wh._qualified('dim_customer')} CASCADE")
        wh.publish("dim_customer", table.with_columns(pl.lit("stale").alias("kind")))
        assert create_views(wh, ["bi_people"]).created == ["bi_people"]
        assert "dim_customer" in wh.tables()
        mart_step(wh, config, "dim_customer", context)
        assert "dim_customer" not in wh.tables() and wh.exists("dim_customer")
        people = wh.read("bi_people")
        view = wh.read("dim_customer")
        comments = wh.column_comments("dim_customer")
        assert wh.table_comment("dim_customer") and set(comments) == set(view.columns) and all(comments.values())
    assert "stale" not in set(view["kind"]) and people.height == table.height
    assert_frame_equal(ordered(view), ordered(table), check_exact=False, rel_tol=0, abs_tol=1e-9)
