"""The identity graph on hand-built records: transitive merges, blocklist, limits, priority, explanations;
the sharing limits against their definition on random graphs."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from cxdata.config import IdentityConfig
from cxdata.identity import graph, resolve
from cxdata.schema import UTC_TIMESTAMP
from tests.identity.builders import T0, orders


def keys(result) -> dict[str, str]:
    return dict(result.record_keys.select("record_id", "customer_key").iter_rows())


CONFIG = IdentityConfig(default_region="ES")


def test_transitive_merge_gives_one_key():
    table = orders(
        {"order_id": "A", "customer_ref": "ref1", "email": "one@example.com"},
        {"order_id": "B", "email": "One@Example.com ", "phone": "+34 612 345 678"},
        {"order_id": "C", "phone": "612345678"},
        {"order_id": "D", "customer_ref": "ref2"},
    )
    result = resolve({"orders": table}, CONFIG)
    k = keys(result)
    assert k["A"] == k["B"] == k["C"]
    assert k["D"] != k["A"]
    assert result.record_keys.height == 4
    linked = dict(result.record_keys.select("record_id", "linked_by").iter_rows())
    assert linked["A"] is None  # founded the component
    assert linked["B"] == "email" and linked["C"] == "phone"
    assert linked["D"] is None  # alone


def test_blocklisted_placeholder_does_not_merge_strangers():
    table = orders(
        {"order_id": "A", "email": "test@test.com"},
        {"order_id": "B", "email": " TEST@test.com"},
        {"order_id": "C", "phone": "0000000000"},
        {"order_id": "D", "phone": "0000000000", "email": "n/a"},
    )
    result = resolve({"orders": table}, CONFIG)
    assert result.record_keys["customer_key"].n_unique() == 4
    blocked = result.customer_identity.filter(pl.col("status") == "blocked")
    assert set(blocked["identifier_type"]) == {"email", "phone"}
    assert blocked["customer_key"].null_count() == blocked.height
    assert result.stats["blocked_values"] == 3


def test_household_phone_over_limit_is_shared_not_merged():
    config = IdentityConfig(default_region="ES", max_customers_per_identifier={"phone": 2})
    table = orders(
        {"order_id": "A", "customer_ref": "ref1", "phone": "612345678"},
        {"order_id": "B", "customer_ref": "ref2", "phone": "612 345 678"},
        {"order_id": "C", "customer_ref": "ref3", "phone": "+34612345678"},
        {"order_id": "D", "phone": "+34612345678"},
    )
    result = resolve({"orders": table}, config)
    k = keys(result)
    assert len({k["A"], k["B"], k["C"], k["D"]}) == 4
    phone = result.customer_identity.filter(pl.col("identifier_type") == "phone")
    assert phone["status"].to_list() == ["shared"] and phone["customer_key"].to_list() == [None]
    assert result.stats["shared_identifiers"] == {"phone": 1}
    # within the limit the phone links: two refs with limit 2 merge
    two = resolve({"orders": table.head(2)}, config)
    assert two.record_keys["customer_key"].n_unique() == 1


def test_priority_decides_which_identifier_gives_way():
    # one email on two CRM refs, with email limited to one customer
    table = orders(
        {"order_id": "A", "customer_ref": "ref1", "email": "family@example.com"},
        {"order_id": "B", "customer_ref": "ref2", "email": "family@example.com"},
    )
    by_ref = IdentityConfig(max_customers_per_identifier={"email": 1})
    assert resolve({"orders": table}, by_ref).record_keys["customer_key"].n_unique() == 2
    # email ranked first and refs limited instead: now the ref gives way... but one ref per email merges nothing
    by_email = IdentityConfig(
        priority=["email", "customer_ref", "phone", "anonymous_id"],
        max_customers_per_identifier={"customer_ref": 1},
    )
    assert resolve({"orders": table}, by_email).record_keys["customer_key"].n_unique() == 1
    # a ref shared by two emails: with email first the ref is shared, with ref first the emails merge
    shared_ref = orders(
        {"order_id": "A", "customer_ref": "ref1", "email": "a@example.com"},
        {"order_id": "B", "customer_ref": "ref1", "email": "b@example.com"},
    )
    assert resolve({"orders": shared_ref}, by_email).record_keys["customer_key"].n_unique() == 2
    assert resolve({"orders": shared_ref}, IdentityConfig()).record_keys["customer_key"].n_unique() == 1


def test_record_without_identifiers_gets_its_own_key():
    table = orders({"order_id": "A"}, {"order_id": "B", "email": "n/a"}, {"order_id": "C", "email": "bad@"})
    result = resolve({"orders": table}, CONFIG)
    assert result.record_keys["customer_key"].n_unique() == 3
    assert result.record_keys["linked_by"].null_count() == 3
    stand_ins = result.customer_identity.filter(pl.col("identifier_type") == "record")
    assert sorted(stand_ins["identifier_value"]) == ["orders:A", "orders:B", "orders:C"]


def test_survey_joins_its_ticket_and_web_login_joins_device():
    tickets = pl.DataFrame(
        {"ticket_id": ["T1"], "email": ["ana@example.com"], "opened_at": [T0], "channel": ["chat"]},
        schema_overrides={"opened_at": UTC_TIMESTAMP},
    )
    surveys = pl.DataFrame(
        {"response_id": ["S1"], "ticket_id": ["T1"], "responded_at": [T0], "kind": ["csat"], "score": [4.0]},
        schema_overrides={"responded_at": UTC_TIMESTAMP},
    )
    web = pl.DataFrame(
        {
            "event_id": ["W1", "W2"],
            "anonymous_id": ["dev1", "dev1"],
            "email": [None, "ana@example.com"],
            "occurred_at": [T0, T0],
            "event_type": ["page_view", "login"],
        },
        schema_overrides={"occurred_at": UTC_TIMESTAMP},
    )
    result = resolve({"tickets": tickets, "surveys": surveys, "web_events": web}, CONFIG)
    assert result.record_keys["customer_key"].n_unique() == 1
    assert set(result.record_keys["source_table"]) == {"tickets", "surveys", "web_events"}


def test_explain_names_the_decisive_links():
    table = orders(
        {"order_id": "A", "customer_ref": "ref1", "email": "one@example.com"},
        {"order_id": "B", "email": "one@example.com", "phone": "+34612345678"},
        {"order_id": "C", "email": "one@example.com", "phone": "+34612345678"},
        {"order_id": "D", "phone": "+34612345678"},
    )
    result = resolve({"orders": table}, CONFIG)
    key = result.record_keys["customer_key"][0]
    links = result.explain(key)
    # three identifiers, so a spanning tree of two links: ref->email on A, email->phone first carried by B
    assert links.height == 2
    assert links.select("record_a", "record_b", "via", "adds").rows() == [
        ("orders:A", "orders:A", "customer_ref", "email"),
        ("orders:A", "orders:B", "email", "phone"),
    ]
    assert result.explain("no-such-key").height == 0


def _shared_from_scratch(rec, node, tier, node_tier, n_records, limits, extra):
    """The definition `graph._shared` speeds up: before each limited tier, components of the whole accepted
    graph (every record's accepted identifiers joined, plus the extra links) rebuilt from nothing."""
    n_nodes = node_tier.size
    accepted = np.zeros(n_nodes, dtype=bool)
    shared = np.zeros(n_nodes, dtype=bool)
    for t in np.unique(node_tier):
        if int(t) in limits:
            keep = accepted[node]
            first = pl.DataFrame({"rec": rec[keep], "node": node[keep]}).group_by("rec").agg(pl.col("node").min())
            hub = np.full(n_records, -1)
            hub[first["rec"].to_numpy()] = first["node"].to_numpy()
            u = np.r_[hub[rec[keep]], extra[0]]
            v = np.r_[node[keep], extra[1]]
            matrix = coo_matrix((np.ones(u.size), (u, v)), shape=(n_nodes, n_nodes))
            _, comp = connected_components(matrix, directed=False)
            mine = (tier == t) & (hub[rec] >= 0)
            pairs = {(int(n), int(comp[hub[r]])) for r, n in zip(rec[mine], node[mine], strict=True)}
            counts = np.bincount([n for n, _ in pairs], minlength=n_nodes)
            shared |= (node_tier == t) & (counts > limits[int(t)])
        accepted |= (node_tier == t) & ~shared
    return shared


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_shared_nodes_match_components_rebuilt_before_every_tier(data):
    n_nodes = data.draw(st.integers(1, 25))
    node_tier = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n_nodes, max_size=n_nodes)))
    n_records = data.draw(st.integers(1, 30))
    # each record carries a few distinct identifiers; links sorted by record, tier, node as extraction leaves them
    links = sorted(
        {
            (r, int(node_tier[n]), n)
            for r in range(n_records)
            for n in data.draw(st.lists(st.integers(0, n_nodes - 1), max_size=4, unique=True))
        }
    )
    rec, tier, node = (np.array([link[i] for link in links], dtype=np.int64) for i in range(3))
    tier = tier.astype(np.int32)
    extra_pairs = data.draw(
        st.lists(st.tuples(st.integers(0, n_nodes - 1), st.integers(0, n_nodes - 1)), max_size=3)
    )
    extra = (
        np.array([a for a, _ in extra_pairs], dtype=np.int64),
        np.array([b for _, b in extra_pairs], dtype=np.int64),
    )
    limits = data.draw(st.dictionaries(st.integers(0, 3), st.integers(1, 3)))

    got = graph._shared(rec, node, tier, node_tier, n_records, limits, extra)

    np.testing.assert_array_equal(got, _shared_from_scratch(rec, node, tier, node_tier, n_records, limits, extra))
