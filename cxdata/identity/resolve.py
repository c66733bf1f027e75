"""`resolve`: canonical tables in, customer keys per record, the identity mart and the merge log out.

A record attaches to the component of its highest-priority linked identifier.
A record with no linked identifier (all null, malformed, blocked or shared) is
one unknown person: it gets a stand-in identifier of internal type ``record``
(value ``table:record_id``) so its key is listed in ``customer_identity`` and
stays stable across runs like any other.

``linked_by`` is the type of the identifier a record attached by; it is null
for a stand-in record, for the only record of a component, and for the
component's founding record (earliest event time, then record order).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from cxdata.config import IdentityConfig
from cxdata.identity import graph as gr
from cxdata.identity import keys as ks
from cxdata.identity.crm_duplicates import crm_links
from cxdata.identity.links import record_links
from cxdata.identity.records import RECORD, extract, id_types

_HISTOGRAM = ((1, 1, "1"), (2, 4, "2-4"), (5, 9, "5-9"), (10, 49, "10-49"), (50, None, "50+"))


@dataclass
class IdentityResult:
    """What `resolve` returns; see the package docstring for the columns."""

    record_keys: pl.DataFrame
    customer_identity: pl.DataFrame
    identity_merges: pl.DataFrame
    stats: dict
    _explain: Callable[[str], pl.DataFrame] = field(repr=False)
    links: pl.DataFrame | None = None

    def explain(self, customer_key: str) -> pl.DataFrame:
        """The decisive links holding ``customer_key`` together: record_a, record_b, via (shared type), adds."""
        return self._explain(customer_key)


def resolve(
    tables: Mapping[str, pl.DataFrame | pl.LazyFrame],
    config: IdentityConfig,
    previous: pl.DataFrame | pl.LazyFrame | None = None,
    run_id: str = "manual",
    now: dt.datetime | None = None,
    next_number: int | None = None,
    with_links: bool = False,
) -> IdentityResult:
    """Link the records of ``tables`` into customers with keys stable against ``previous`` (see module docs).

    ``next_number`` numbers fresh keys when ``previous`` is only part of the last run (`keys.assign`);
    ``with_links`` also returns the link table (`cxdata.identity.links`).
    """
    now = now or dt.datetime.now(dt.UTC)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        timings[step] = round(time.perf_counter() - clock, 3)
        clock = time.perf_counter()

    types = id_types(config)
    extracted = extract(tables, config)
    records = extracted.records
    n_records = records.height
    lap("normalise")

    extra, probabilistic = None, None
    if config.probabilistic.enabled and "customers" in tables:
        extra, probabilistic = crm_links(tables["customers"], config, extracted.nodes)
        lap("probabilistic")
    limits = {types.index(t): n for t, n in config.max_customers_per_identifier.items() if t in types}
    g = gr.build(extracted.nodes, extracted.rec, extracted.node, extracted.tier, n_records, limits, extra)
    links = (
        record_links(records, extracted.rec, extracted.node, g.nodes, extracted.blocked_links)
        if with_links
        else None
    )
    # the record-identifier links (hundreds of megabytes at tens of millions) are in the graph now
    blocked = extracted.blocked
    del extracted
    lap("graph")

    # records without a linked identifier: a stand-in node each, a component each
    orphans = np.flatnonzero(g.rec_hub < 0)
    n_graph_nodes, n_comp = g.nodes.height, g.n_components + orphans.size
    stand_ins = records[orphans].select(
        (pl.int_range(pl.len(), dtype=pl.UInt32) + n_graph_nodes).alias("node"),
        pl.lit(RECORD, pl.Enum(types)).alias("id_type"),
        pl.concat_str(pl.col("source_table").cast(pl.String), pl.lit(":"), "record_id").alias("value"),
        pl.col("event_time").alias("first_seen"),
        pl.col("event_time").alias("last_seen"),
        pl.lit(1, pl.UInt32).alias("records"),
        pl.col("rec").alias("first_rec"),
        pl.lit(types.index(RECORD), pl.Int32).alias("tier"),
        pl.lit("linked").alias("status"),
        (pl.int_range(pl.len(), dtype=pl.Int64) + g.n_components).alias("comp"),
    )
    nodes = pl.concat([g.nodes.with_columns(pl.col("comp").cast(pl.Int64)), stand_ins], how="diagonal_relaxed")
    # index with a sentinel slot so graphs without nodes work too
    hub = np.where(g.rec_hub >= 0, g.rec_hub, g.nodes.height)
    rec_comp = np.append(g.comp, 0)[hub]
    rec_comp[orphans] = g.n_components + np.arange(orphans.size)

    comp_key, events = ks.assign(nodes, n_comp, previous, next_number)
    lap("keys")

    node_tier = g.nodes["tier"].to_numpy()
    hub_tier = np.append(node_tier, -1)[hub]
    record_keys = _record_keys(records, rec_comp, hub_tier, comp_key, types)
    identity = _customer_identity(nodes, blocked, comp_key, run_id)
    label = _labeller(records)
    merges = _merge_log(events, g, nodes, label, records, run_id, now)
    lap("outputs")

    stats = _stats(record_keys, nodes, blocked, events, rec_comp, n_comp, timings)
    if probabilistic is not None:
        stats["probabilistic"] = probabilistic

    def explain(customer_key: str) -> pl.DataFrame:
        comps = np.flatnonzero(comp_key == customer_key)
        parts = [_explain_component(g, nodes, label, int(c)) for c in comps if c < g.n_components]
        schema = {"record_a": pl.String, "record_b": pl.String, "via": pl.String, "adds": pl.String}
        return pl.concat(parts) if parts else pl.DataFrame(schema=schema)

    return IdentityResult(record_keys, identity, merges, stats, explain, links)


def _record_keys(
    records: pl.DataFrame, rec_comp: np.ndarray, hub_tier: np.ndarray, comp_key: np.ndarray, types: list[str]
) -> pl.DataFrame:
    n_comp = comp_key.size
    rec = records["rec"].to_numpy().astype(np.int64)
    # the founder: earliest event time (a record without one counts as latest), then first in record order.
    # Per-component arrays indexed by the component number, instead of three window expressions over
    # millions of groups: those build a group index of every record each, seconds and gigabytes at 20M.
    time = records["event_time"].dt.epoch("us").fill_null(np.iinfo(np.int64).max).to_numpy()
    earliest_time = np.full(n_comp, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(earliest_time, rec_comp, time)
    earliest = time == earliest_time[rec_comp]
    founder = np.full(n_comp, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(founder, rec_comp[earliest], rec[earliest])
    size = np.bincount(rec_comp, minlength=n_comp)
    linked = (hub_tier >= 0) & (size[rec_comp] > 1) & (rec != founder[rec_comp])
    tier_name = pl.Series(types, dtype=pl.String).gather(np.where(linked, hub_tier, 0))
    return records.select(
        pl.col("source_table").cast(pl.String),
        "record_id",
        _key_series(comp_key).gather(rec_comp).alias("customer_key"),
        pl.when(pl.lit(pl.Series(linked))).then(pl.lit(tier_name)).alias("linked_by"),
    )


def _labeller(records: pl.DataFrame) -> Callable[[int], str | None]:
    """``table:record_id`` of a record, made when a merge reason or an explanation names it: a column of
    it for every record would cost a gigabyte while only a handful are ever shown."""
    source, record_id = records["source_table"], records["record_id"]

    def label(rec: int) -> str | None:
        value = record_id[rec]
        return None if value is None else f"{source[rec]}:{value}"

    return label


def _key_series(comp_key: np.ndarray) -> pl.Series:
    # a list, not the object array: an array of only None (components of shared identifiers) is not cast
    return pl.Series("customer_key", comp_key.tolist(), dtype=pl.String)


def _customer_identity(
    nodes: pl.DataFrame, blocked: pl.DataFrame, comp_key: np.ndarray, run_id: str
) -> pl.DataFrame:
    linked = nodes.select(
        pl.col("id_type").cast(pl.String).alias("identifier_type"),
        pl.col("value").alias("identifier_value"),
        pl.when(pl.col("status") == "linked")
        .then(_key_series(comp_key).gather(nodes["comp"].to_numpy()))
        .alias("customer_key"),
        "status",
        "first_seen",
        "last_seen",
        pl.col("records").cast(pl.Int64),
    )
    placeholders = blocked.select(
        pl.col("id_type").cast(pl.String).alias("identifier_type"),
        pl.col("value").alias("identifier_value"),
        pl.lit(None, pl.String).alias("customer_key"),
        pl.lit("blocked").alias("status"),
        "first_seen",
        "last_seen",
        pl.col("records").cast(pl.Int64),
    )
    return pl.concat([linked, placeholders]).with_columns(pl.lit(run_id).alias("run_id"))


def _explain_component(
    g: gr.Graph, nodes: pl.DataFrame, label: Callable[[int], str | None], comp: int
) -> pl.DataFrame:
    tree = gr.spanning_links(g, comp)
    schema = {"record_a": pl.String, "record_b": pl.String, "via": pl.String, "adds": pl.String}
    if tree.height == 0:
        return pl.DataFrame(schema=schema)
    # the record that brought the parent identifier in: its own tree link, or for the root its first record
    intro = dict(zip(tree["child"].to_list(), tree["rec"].to_list(), strict=True))
    first_rec = nodes["first_rec"]
    id_type = nodes["id_type"].cast(pl.String)
    rows = []
    for parent, child, rec, evidence in tree.iter_rows():
        rec_a = intro.get(parent, int(first_rec[parent]))
        via = id_type[parent] if evidence is None else f"probabilistic match ({evidence})"
        rows.append((label(rec_a), label(rec), via, id_type[child]))
    return pl.DataFrame(rows, schema=schema, orient="row")


def _merge_log(
    events: pl.DataFrame,
    g: gr.Graph,
    nodes: pl.DataFrame,
    label: Callable[[int], str | None],
    records: pl.DataFrame,
    run_id: str,
    now: dt.datetime,
) -> pl.DataFrame:
    schema = {
        "old_key": pl.String,
        "new_key": pl.String,
        "kind": pl.String,
        "reason": pl.String,
        "run_id": pl.String,
        "merged_at": pl.Datetime("us", "UTC"),
    }
    if events.height == 0:
        return pl.DataFrame(schema=schema)
    id_type = nodes["id_type"].cast(pl.String)
    times = records["event_time"]
    comps = set(events["comp"].to_list())
    in_comps = pl.Series(g.comp).is_in(list(comps)).to_numpy()
    sub_edges = g.edges.filter(pl.Series(in_comps[g.edges["u"].to_numpy()]))
    trees: dict[int, pl.DataFrame] = {}
    reasons = []
    for comp, old_key, new_key, kind, old_node, new_node in events.iter_rows():
        if comp >= g.n_components:  # a stand-in record cannot merge or split
            reasons.append(f"{kind}: {old_key} -> {new_key}")
            continue
        if comp not in trees:
            trees[comp] = gr.spanning_links(g, comp, sub_edges)
        tree = trees[comp]
        if kind == "merge":
            path = _between(tree, old_node, new_node)
            if path.height:
                # the most recent link on the path is the one earlier runs did not have
                rec = max(path["rec"].to_list(), key=lambda r: (times[r] is not None, times[r], r))
                link = path.filter(pl.col("rec") == rec)
                parent, child = link["parent"][0], link["child"][0]
                evidence = tree.filter((pl.col("parent") == parent) & (pl.col("child") == child))["evidence"]
                if evidence.len() and evidence[0] is not None:
                    reasons.append(
                        f"{old_key} merged into {new_key}: record {label(rec)} is a probabilistic match of "
                        f"another customer record on the path joining them ({evidence[0]})"
                    )
                else:
                    reasons.append(
                        f"{old_key} merged into {new_key}: record {label(rec)} carries both a {id_type[parent]} "
                        f"and a {id_type[child]} on the path joining them ({path.height} link(s))"
                    )
            else:
                reasons.append(f"{old_key} merged into {new_key}: they share an identifier")
        else:
            reasons.append(
                f"split from {old_key}: its {id_type[old_node]} first seen on record "
                f"{label(int(nodes['first_rec'][old_node]))} no longer links to the rest of {old_key}"
            )
    return events.select(
        "old_key",
        "new_key",
        "kind",
        pl.Series("reason", reasons, dtype=pl.String),
        pl.lit(run_id).alias("run_id"),
        pl.lit(now, pl.Datetime("us", "UTC")).alias("merged_at"),
    )


def _between(tree: pl.DataFrame, a: int, b: int) -> pl.DataFrame:
    """Links of the tree path between nodes ``a`` and ``b``."""
    pa, pb = gr.tree_path(tree, a), gr.tree_path(tree, b)
    common = set(pa["child"].to_list()) & set(pb["child"].to_list())
    return pl.concat([pa, pb]).filter(~pl.col("child").is_in(list(common)))


def _stats(
    record_keys: pl.DataFrame,
    nodes: pl.DataFrame,
    blocked: pl.DataFrame,
    events: pl.DataFrame,
    rec_comp: np.ndarray,
    n_comp: int,
    timings: dict[str, float],
) -> dict:
    sizes = np.bincount(rec_comp, minlength=n_comp)
    sizes = sizes[sizes > 0]
    has_ref = np.zeros(n_comp, dtype=bool)
    refs = nodes.filter((pl.col("id_type") == "customer_ref") & (pl.col("status") == "linked"))
    has_ref[refs["comp"].to_numpy()] = True
    resolved = (np.bincount(rec_comp, minlength=n_comp) > 1) | has_ref
    linked_nodes = nodes.filter(pl.col("status") == "linked")
    per_comp = np.bincount(linked_nodes["comp"].to_numpy(), minlength=n_comp)
    histogram = {}
    for low, high, name in _HISTOGRAM:
        histogram[name] = int(((sizes >= low) & ((sizes <= high) if high else True)).sum())
    shared = nodes.filter(pl.col("status") == "shared").group_by("id_type").len()
    blocked_by_type = blocked.group_by("id_type").len()
    return {
        "records": record_keys.height,
        "customers": int(sizes.size),
        "merged_components": int((per_comp > 1).sum()),
        "merges": int((events["kind"] == "merge").sum()) if events.height else 0,
        "splits": int((events["kind"] == "split").sum()) if events.height else 0,
        "shared_identifiers": {str(t): int(n) for t, n in shared.iter_rows()},
        "blocked_values": blocked.height,
        "blocked_by_type": {str(t): int(n) for t, n in blocked_by_type.iter_rows()},
        "share_of_records_resolved": float(resolved[rec_comp].mean()) if rec_comp.size else 0.0,
        "records_per_customer": histogram,
        "seconds": timings,
    }
