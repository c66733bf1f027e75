"""A daily incremental `cxdata run` equals a full rebuild of the same inputs (issue 22, plan section 2.8).

A small generated project holds back its last two days (`cxdata.synth.days`). A full run of the history fills
a warehouse, which is copied; the two days then arrive together with two planted orders in a file of their own:

- a late order, on the earliest day inside `incremental.lookback_days` of the newest day that the history
  staged orders on: the daily run must restage from that day on (not only the new days);
- on the newest day, an order carrying the customer_ref of one customer and the email of another: the email
  joins the two customers, so identity must merge their keys.

The original gets the daily run (`pipelines.runner.run_project`, the path `cxdata run` takes), the copy
`--full-refresh`. Every customer table of the two must be equal (`cxdata.warehouse.compare`): keys and text
exactly, floats to 1e-9. PostgreSQL copies the history's schema table by table (`CREATE TABLE ... (LIKE ...
INCLUDING ALL)`, so indexes and comments come along) rather than replaying the history, one whole-graph run
less.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from cxdata.config import load_config
from cxdata.synth.days import deliver, hold_back_days
from cxdata.warehouse import Warehouse
from cxdata.warehouse.compare import compare_warehouses
from tests.warehouse_pair import Side, lean_project, run_on

CUSTOMERS, SEED = 200, 13
# Tables the comparison must reach: a comparison of a handful of tables proves little.
CUSTOMER_TABLES = {
    "stg_orders", "fct_orders", "dim_customer", "customer_activity", "customer_scores", "customer_identity",
    "identity_record_keys", "identity_merges", "touchpoint_scores", "fct_tickets", "fct_touches",
}  # fmt: skip
LATE_ORDER, MERGING_ORDER = "990000001", "990000002"


def _two_customers(side: Side) -> tuple[str, str, str]:
    """(email, its customer's ref, another customer's ref), refs of the customers table: an email that no record
    carries with any other customer_ref, so one more customer on it stays within the email's sharing limit (2)
    and merges the two."""
    with Warehouse(side.url, side.schema) as wh:
        links = wh.read("identity_links", where={"status": "linked"}).drop("status", "event_time")
        keys = wh.read("identity_record_keys", columns=["source_table", "record_id", "customer_key"])
    record = ["source_table", "record_id"]
    refs = links.filter(pl.col("identifier_type") == "customer_ref").select(
        *record, pl.col("identifier_value").alias("ref")
    )
    emails = (
        links.filter(pl.col("identifier_type") == "email")
        .join(refs, on=record)
        .join(keys, on=record)
        .group_by("identifier_value")
        .agg(pl.col("ref").n_unique().alias("refs"), pl.col("ref").first(), pl.col("customer_key").n_unique())
        .filter((pl.col("refs") == 1) & (pl.col("customer_key") == 1))
        .sort("identifier_value")
    )
    email, ref = emails.select("identifier_value", "ref").row(0)
    own_key = refs.filter(pl.col("ref") == ref).join(keys, on=record)["customer_key"].unique().item()
    customers = refs.filter(pl.col("source_table") == "customers").join(keys, on=record)
    other = customers.filter(pl.col("customer_key") != own_key).sort("ref")["ref"][0]
    return email, ref, other


def _late_day(side: Side, first: dt.date, newest: dt.date, lookback_days: int) -> dt.date:
    """The earliest day inside the lookback of ``newest`` that the history staged orders on."""
    with Warehouse(side.url, side.schema) as wh:
        staged = wh.read("stg_partitions", where={"source_table": "orders"})["partition_day"]
    inside = [day for day in staged if newest - dt.timedelta(days=lookback_days) <= day < first]
    assert inside, "no staged order day inside the lookback: pick another seed"
    return min(inside)


def _orders_file(config, rows: list[dict[str, str]]) -> pl.DataFrame:
    """Orders in the source's own columns and formats (`cxdata generate`'s orders.csv), all text."""
    source = config.sources["orders"]
    header = (config.base_dir / "data" / "orders_files" / "part-0-history.csv").read_text().splitlines()[0]
    frame = pl.DataFrame([{source.columns[k]: v for k, v in row.items()} for row in rows])
    return frame.select(
        pl.col(c) if c in frame.columns else pl.lit(None, pl.String).alias(c) for c in header.split(",")
    )


def _order(order_id: str, ref: str, email: str, day: dt.date) -> dict[str, str]:
    stamp = dt.datetime.combine(day, dt.time(12, 0)).strftime("%d/%m/%Y %H:%M:%S")  # noon in the project zone
    return {"order_id": order_id, "customer_ref": ref, "email": email, "ordered_at": stamp, "amount": "57.25",
            "currency": "EUR", "channel": "web", "status": "completed"}  # fmt: skip


def _keys(side: Side, refs: list[str]) -> dict[str, int]:
    """The customer key of each customer_ref."""
    with Warehouse(side.url, side.schema) as wh:
        links = wh.read("identity_links", where={"identifier_type": "customer_ref"})
        keys = wh.read("identity_record_keys", columns=["source_table", "record_id", "customer_key"])
    found = links.filter(pl.col("identifier_value").is_in(refs)).join(keys, on=["source_table", "record_id"])
    return dict(found.select("identifier_value", "customer_key").unique().iter_rows())


def test_a_daily_run_equals_a_full_rebuild(tmp_path, monkeypatch, two_warehouses):
    daily, rebuilt, copy = two_warehouses
    project = lean_project(tmp_path, monkeypatch, CUSTOMERS, SEED)
    held = hold_back_days(project.config_path, days=2)
    assert len(held) == 2  # both days have events
    first, newest = sorted(held)
    config = load_config(project.config_path)
    run_on(monkeypatch, project.config_path, daily, as_of=(first - dt.timedelta(days=1)).isoformat())
    copy()

    email, ref, other = _two_customers(daily)
    before = _keys(daily, [ref, other])
    assert before[ref] != before[other]
    late_day = _late_day(daily, first, newest, config.incremental.lookback_days)
    planted = [_order(LATE_ORDER, ref, email, late_day), _order(MERGING_ORDER, other, email, newest)]
    for day in sorted(held):
        deliver(held[day])
    _orders_file(config, planted).write_csv(config.base_dir / "data" / "orders_files" / "part-2-planted.csv")

    run = run_on(monkeypatch, project.config_path, daily, as_of=newest.isoformat())
    run_on(monkeypatch, project.config_path, rebuilt, as_of=newest.isoformat(), full_refresh=True)

    with Warehouse(daily.url, daily.schema) as wh:
        audit = wh.read("load_audit", where={"run_id": run.run_id, "table_name": "orders"})
        touched = wh.read("identity_touched")
        merges = wh.read("identity_merges", where={"run_id": run.run_id})
        orders = wh.read("fct_orders", columns=["order_id", "customer_key"])
    # the daily run restaged from the late day (not from the first new one) to the newest, not the whole
    # history, and resolved identity incrementally
    assert audit.select("first_day", "last_day").row(0) == (late_day, newest)
    assert 3 <= audit["days_restated"].item() <= (newest - late_day).days + 1
    assert set(touched["mode"]) == {"incremental"}
    after = _keys(daily, [ref, other])
    assert after[ref] == after[other]
    assert merges.filter(pl.col("kind") == "merge").select("old_key", "new_key").rows() == [
        (max(before.values()), min(before.values()))
    ]
    planted_keys = dict(orders.filter(pl.col("order_id").is_in([LATE_ORDER, MERGING_ORDER])).iter_rows())
    assert planted_keys == {LATE_ORDER: after[ref], MERGING_ORDER: after[ref]}

    verdicts = compare_warehouses(daily.url, rebuilt.url, daily.schema, rebuilt.schema)
    assert {v.table for v in verdicts} >= CUSTOMER_TABLES
    assert [(v.table, v.difference) for v in verdicts if not v.equal] == []
