"""Stable customer keys: reruns keep keys, new people get new keys, merges and splits are logged."""

from __future__ import annotations

import datetime as dt

import polars as pl

from cxdata.config import IdentityConfig
from cxdata.identity import keys as ks
from cxdata.identity import resolve
from tests.identity.builders import orders

CONFIG = IdentityConfig(default_region="ES")
NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def keys(result) -> dict[str, str]:
    return dict(result.record_keys.select("record_id", "customer_key").iter_rows())


BASE = (
    {"order_id": "A", "customer_ref": "ref1", "email": "ana@example.com"},
    {"order_id": "B", "customer_ref": "ref2", "email": "bea@example.com"},
    {"order_id": "C", "email": "carl@example.com"},
)


def test_same_input_same_keys_and_rerun_keeps_them():
    first = resolve({"orders": orders(*BASE)}, CONFIG, run_id="r1", now=NOW)
    again = resolve({"orders": orders(*BASE)}, CONFIG, run_id="r1", now=NOW)
    assert keys(first) == keys(again)
    assert first.customer_identity.equals(again.customer_identity)
    second = resolve({"orders": orders(*BASE)}, CONFIG, previous=first.customer_identity, run_id="r2")
    assert keys(second) == keys(first)
    assert second.identity_merges.height == 0


def test_merge_logged_survivor_keeps_key_and_new_customer_gets_fresh_key():
    first = resolve({"orders": orders(*BASE)}, CONFIG, run_id="r1", now=NOW)
    k1 = keys(first)
    grown = orders(
        *BASE,
        # a later order ties ref2 to ana's email: ref1's customer (older) survives
        {"order_id": "D", "customer_ref": "ref2", "email": "ana@example.com"},
        {"order_id": "E", "email": "dora@example.com"},
    )
    second = resolve({"orders": grown}, CONFIG, previous=first.customer_identity, run_id="r2", now=NOW)
    k2 = keys(second)
    assert k2["A"] == k2["B"] == k2["D"] == k1["A"]
    assert k2["C"] == k1["C"]
    assert k2["E"] not in set(k1.values())
    merges = second.identity_merges
    assert merges.select("old_key", "new_key", "kind", "run_id").rows() == [(k1["B"], k1["A"], "merge", "r2")]
    reason = merges["reason"][0]
    assert "orders:D" in reason and "email" in reason
    assert "@" not in reason  # no personal values in the log
    assert merges["merged_at"][0] == NOW
    assert second.stats["merges"] == 1


def test_split_keeps_key_with_oldest_identifier_and_is_logged():
    joined = orders(
        {"order_id": "A", "customer_ref": "ref1", "email": "ana@example.com"},
        {"order_id": "B", "customer_ref": "ref2", "email": "ana@example.com"},
    )
    first = resolve({"orders": joined}, CONFIG, run_id="r1")
    key = first.record_keys["customer_key"][0]
    assert first.record_keys["customer_key"].n_unique() == 1
    # the email is now placed on the blocklist: the two refs fall apart
    strict = IdentityConfig(blocklist={"email": ["ana@example.com"]})
    second = resolve({"orders": joined}, strict, previous=first.customer_identity, run_id="r2")
    k2 = keys(second)
    assert k2["A"] == key  # ref1 is the oldest identifier
    assert k2["B"] != key
    log = second.identity_merges
    assert log.select("old_key", "new_key", "kind").rows() == [(key, k2["B"], "split")]


def test_new_keys_continue_after_previous_ones():
    first = resolve({"orders": orders(*BASE)}, CONFIG)
    # keys of an earlier numbering, up to C0000000503
    previous = first.customer_identity.with_columns(
        pl.col("customer_key").str.replace("C00000000", "C00000005", literal=True)
    )
    assert previous["customer_key"].max() == "C0000000503"
    grown = orders(*BASE, {"order_id": "Z", "email": "zed@example.com"})
    second = resolve({"orders": grown}, CONFIG, previous=previous)
    k = keys(second)
    assert k["Z"] == "C0000000504"
    assert {k["A"], k["B"], k["C"]} == set(previous["customer_key"].drop_nulls())


def test_a_key_a_merge_retired_is_never_given_to_a_new_customer():
    first = resolve({"orders": orders(*BASE)}, CONFIG, run_id="r1", now=NOW)
    k1 = keys(first)
    # carl's email now comes with bea's CRM id: carl's key (the highest) is merged into bea's
    merged = orders(*BASE, {"order_id": "D", "customer_ref": "ref2", "email": "carl@example.com"})
    second = resolve({"orders": merged}, CONFIG, previous=first.customer_identity, run_id="r2", now=NOW)
    assert second.identity_merges.select("old_key", "new_key").rows() == [(k1["C"], k1["B"])]
    assert k1["C"] == max(k1.values()) and k1["C"] not in set(second.customer_identity["customer_key"])
    grown = orders(
        *BASE,
        {"order_id": "D", "customer_ref": "ref2", "email": "carl@example.com"},
        {"order_id": "E", "email": "eve@example.com"},
    )
    after = ks.next_key_number(second.customer_identity, second.identity_merges)
    third = resolve({"orders": grown}, CONFIG, previous=second.customer_identity, run_id="r3", next_number=after)
    assert keys(third)["E"] not in set(k1.values())
    # without the merge log the retired key would come back
    assert ks.next_key_number(second.customer_identity) == after - 1
