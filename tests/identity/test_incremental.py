"""Incremental identity against a full resolve: random day-by-day record streams must give exactly the keys,
identity rows, merge log and links of resolving everything again; the closure grows along a household chain."""

from __future__ import annotations

import datetime as dt
import random

import polars as pl
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from cxdata.config import IdentityConfig
from cxdata.identity import resolve
from cxdata.identity.incremental import IdentityState, apply, closure, update
from cxdata.schema import UTC_TIMESTAMP

# limits low enough for the small pools below to reach them and go past
CONFIG = IdentityConfig(
    default_region="ES", max_customers_per_identifier={"email": 2, "phone": 1, "anonymous_id": 2}
)
D0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
REFS = ["r0", "r1", "r2", "r3"]
EMAILS = ["e0@x.com", "e1@x.com", "e2@x.com", "test@test.com"]  # the last one is blocklisted
PHONES = ["612000001", "612000002", "0000000000"]  # the last one is blocklisted
DEVICES = ["a0", "a1"]
ORDERS = {
    "order_id": pl.String,
    "customer_ref": pl.String,
    "email": pl.String,
    "phone": pl.String,
    "ordered_at": UTC_TIMESTAMP,
}
CRM = {"customer_ref": pl.String, "email": pl.String, "phone": pl.String, "created_at": UTC_TIMESTAMP}
WEB = {"event_id": pl.String, "anonymous_id": pl.String, "email": pl.String, "occurred_at": UTC_TIMESTAMP}


def maybe(values: list[str]) -> st.SearchStrategy[str | None]:
    return st.one_of(st.none(), st.sampled_from(values))


def identifiers(table: str) -> st.SearchStrategy[dict]:
    if table == "customers":  # the CRM record's id is its customer_ref
        return st.fixed_dictionaries({"email": maybe(EMAILS), "phone": maybe(PHONES)})
    if table == "orders":
        return st.fixed_dictionaries({"customer_ref": maybe(REFS), "email": maybe(EMAILS), "phone": maybe(PHONES)})
    return st.fixed_dictionaries({"anonymous_id": maybe(DEVICES), "email": maybe(EMAILS)})


def tables_of(current: dict[tuple[str, str], dict], rng: random.Random) -> dict[str, pl.DataFrame]:
    """The staged tables, rows in a shuffled order: identity must not depend on it."""
    rows = list(current.items())
    rng.shuffle(rows)
    orders = [{"order_id": i, "ordered_at": r["time"], **r["ids"]} for (t, i), r in rows if t == "orders"]
    web = [{"event_id": i, "occurred_at": r["time"], **r["ids"]} for (t, i), r in rows if t == "web_events"]
    crm = [{"customer_ref": i, "created_at": r["time"], **r["ids"]} for (t, i), r in rows if t == "customers"]
    return {
        "customers": pl.DataFrame(crm, schema=CRM),
        "orders": pl.DataFrame(orders, schema=ORDERS),
        "web_events": pl.DataFrame(web, schema=WEB),
    }


def draw_day(data: st.DataObject, day: int, current: dict, counter: list[int]) -> tuple[set, set]:
    """One day's changes to ``current``: new records (some late), changed and gone records, maybe a bridge."""
    upserted, gone = set(), set()
    for _ in range(data.draw(st.integers(1, 6), label="new")):
        table = data.draw(st.sampled_from(["customers", "orders", "web_events"]))
        counter[0] += 1
        # a CRM record's id is a customer_ref that orders may carry too
        rid = data.draw(st.sampled_from(REFS)) if table == "customers" else f"{table[0]}{counter[0]:03d}"
        # a late row carries an earlier day's time; hours collide so record ids break ties
        when = data.draw(st.integers(0, day)) if data.draw(st.booleans()) else day
        time = D0 + dt.timedelta(days=when, hours=data.draw(st.integers(0, 2)))
        if table == "customers" and data.draw(st.booleans()):
            time = None  # a CRM record without a creation time numbers after its table's dated ones
        current[(table, rid)] = {"time": time, "ids": data.draw(identifiers(table))}
        upserted.add((table, rid))
    existing = sorted(set(current) - upserted)
    if existing and data.draw(st.booleans(), label="bridge"):
        # a record carrying the identifiers of two existing records, often two customers
        a, b = data.draw(st.sampled_from(existing)), data.draw(st.sampled_from(existing))
        ids = {k: v for k, v in current[b]["ids"].items() if v is not None}
        ids |= {k: v for k, v in current[a]["ids"].items() if v is not None}
        counter[0] += 1
        rid = f"o{counter[0]:03d}"
        ids = {"customer_ref": ids.get("customer_ref"), "email": ids.get("email"), "phone": ids.get("phone")}
        current[("orders", rid)] = {"time": D0 + dt.timedelta(days=day), "ids": ids}
        upserted.add(("orders", rid))
    for key in (
        data.draw(st.lists(st.sampled_from(existing), max_size=2, unique=True), label="changed")
        if existing
        else []
    ):
        current[key] = {"time": current[key]["time"], "ids": data.draw(identifiers(key[0]))}
        upserted.add(key)
    left = sorted(set(current) - upserted)
    for key in data.draw(st.lists(st.sampled_from(left), max_size=2, unique=True), label="gone") if left else []:
        del current[key]
        gone.add(key)
    return upserted, gone


def ids_frame(keys: set) -> pl.DataFrame:
    return pl.DataFrame(sorted(keys), schema={"source_table": pl.String, "record_id": pl.String}, orient="row")


def same(left: pl.DataFrame, right: pl.DataFrame, drop: tuple[str, ...] = ()) -> None:
    left, right = left.drop(drop), right.drop(drop).select(left.drop(drop).columns)
    assert_frame_equal(left.sort(left.columns, nulls_last=True), right.sort(left.columns, nulls_last=True))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_each_day_incremental_equals_a_full_resolve(data):
    rng = random.Random(data.draw(st.integers(0, 2**16), label="row order"))
    current: dict[tuple[str, str], dict] = {}
    counter = [0]
    upserted, _ = draw_day(data, 0, current, counter)
    first = resolve(tables_of(current, rng), CONFIG, run_id="d0", now=NOW, with_links=True)
    state = IdentityState.of(first)
    for day in range(1, data.draw(st.integers(1, 2), label="days") + 1):
        upserted, gone = draw_day(data, day, current, counter)
        tables = tables_of(current, rng)
        run = f"d{day}"
        full = resolve(tables, CONFIG, previous=state.customer_identity, run_id=run, now=NOW, with_links=True)
        result = update(tables, ids_frame(upserted), ids_frame(gone), state, CONFIG, 1.0, run_id=run, now=NOW)
        assert result.mode == "incremental"
        state = apply(state, result)
        same(state.record_keys, full.record_keys)
        # untouched identity rows keep the run id that last wrote them
        same(state.customer_identity, full.customer_identity, drop=("run_id",))
        same(result.identity_merges, full.identity_merges)
        same(state.links, full.links)
        # every key whose records moved is reported touched
        moved = full.record_keys.select("customer_key").unique()
        assert set(moved["customer_key"]) - set(state.record_keys["customer_key"]) == set()
        assert set(result.identity_merges["old_key"]) <= set(result.touched["customer_key"])
        # what the streams reach (pytest --hypothesis-show-statistics)
        for kind in result.identity_merges["kind"].unique():
            event(f"a {kind}")
        for status in full.customer_identity["status"].unique():
            event(f"a {status} identifier")
        if len(result.growth) > 1:
            event("the closure grew through a limited value")


def test_over_the_share_it_falls_back_to_a_full_resolve():
    current = {("orders", f"o{i}"): {"time": D0, "ids": {"customer_ref": f"r{i}"}} for i in range(4)}
    rng = random.Random(0)
    state = IdentityState.of(resolve(tables_of(current, rng), CONFIG, run_id="d0", now=NOW, with_links=True))
    current[("orders", "o9")] = {"time": D0, "ids": {"customer_ref": "r0"}}
    tables = tables_of(current, rng)
    upserted = ids_frame({("orders", "o9")})
    small = update(tables, upserted, ids_frame(set()), state, CONFIG, 0.5, run_id="d1", now=NOW)
    assert small.mode == "incremental" and small.subset_records == 2
    assert (
        small.touched["customer_key"].to_list()
        == state.record_keys.filter(pl.col("record_id") == "o0")["customer_key"].to_list()
    )
    forced = update(tables, upserted, ids_frame(set()), state, CONFIG, 0.1, run_id="d1", now=NOW)
    assert forced.mode == "full" and "share" in forced.reason
    assert forced.subset_records == 5
    same(apply(state, forced).record_keys, apply(state, small).record_keys)


def test_closure_follows_a_household_chain_through_a_phone_at_its_limit():
    # phone limit 1: P1 is shared by the two people of household one (ana, bea), P2 by bea's partner and carl
    # as well; a new order of ana's touches ana's key, her shared phone pulls bea, bea's second phone carl
    config = CONFIG
    rows = [
        ("o1", "ana", "612000001"),
        ("o2", "bea", "612000001"),
        ("o3", "bea", "612000002"),
        ("o4", "carl", "612000002"),
        ("o5", "carl", "612000003"),
        ("o6", "dan", "612000003"),
        ("o7", "eve", None),
    ]
    current = {
        ("orders", oid): {"time": D0 + dt.timedelta(hours=i), "ids": {"customer_ref": ref, "phone": phone}}
        for i, (oid, ref, phone) in enumerate(rows)
    }
    rng = random.Random(0)
    state = IdentityState.of(resolve(tables_of(current, rng), config, run_id="d0", now=NOW, with_links=True))
    key = dict(state.record_keys.select("record_id", "customer_key").iter_rows())
    assert len({key[o] for o, _, _ in rows}) == 5  # every phone is shared, so each person keeps a key
    values = pl.LazyFrame({"identifier_type": ["customer_ref"], "identifier_value": ["ana"]})
    no_seeds = pl.LazyFrame(schema={"source_table": pl.String, "record_id": pl.String})
    keys, growth = closure(state, values, no_seeds, ["email", "phone", "anonymous_id"])
    # ana; + bea through P1; + carl through bea's P2; + dan through carl's P3; eve stays out
    assert growth == [1, 2, 3, 4]
    assert set(keys["customer_key"]) == {key["o1"], key["o2"], key["o4"], key["o6"]}
    unlimited, growth = closure(state, values, no_seeds, [])
    assert growth == [1] and unlimited["customer_key"].to_list() == [key["o1"]]


def test_fresh_keys_come_after_a_key_a_merge_retired():
    # r0 and r1 are two customers, C1 and C2; an order carrying both merges C2 into C1
    current = {("orders", f"o{i}"): {"time": D0, "ids": {"customer_ref": f"r{i}"}} for i in range(2)}
    rng = random.Random(0)
    state = IdentityState.of(resolve(tables_of(current, rng), CONFIG, run_id="d0", now=NOW, with_links=True))
    current[("orders", "o5")] = {"time": D0, "ids": {"customer_ref": "r0", "email": "e0@x.com"}}
    current[("orders", "o6")] = {"time": D0, "ids": {"customer_ref": "r1", "email": "e0@x.com"}}
    bridge = ids_frame({("orders", "o5"), ("orders", "o6")})
    merged = update(tables_of(current, rng), bridge, ids_frame(set()), state, CONFIG, 1.0, run_id="d1", now=NOW)
    assert merged.identity_merges.select("old_key", "new_key").rows() == [("C0000000002", "C0000000001")]
    state = apply(state, merged)
    current[("orders", "o7")] = {"time": D0, "ids": {"customer_ref": "r7"}}
    new = ids_frame({("orders", "o7")})
    fresh = update(
        tables_of(current, rng), new, ids_frame(set()), state, CONFIG, 1.0, "d2", NOW, merged.identity_merges
    )
    assert fresh.record_keys.filter(pl.col("record_id") == "o7")["customer_key"].to_list() == ["C0000000003"]
    # without the merge log the retired key would be given again: what the log is passed for
    again = update(tables_of(current, rng), new, ids_frame(set()), state, CONFIG, 1.0, run_id="d2", now=NOW)
    assert again.record_keys.filter(pl.col("record_id") == "o7")["customer_key"].to_list() == ["C0000000002"]
