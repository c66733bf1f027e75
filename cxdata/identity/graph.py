"""The deterministic identity graph: identifier nodes, protected edges, connected components, explanations.

Nodes are distinct ``(id_type, value)`` pairs, not records, so the graph stays
small (a customer who ordered 50 times with one email adds one edge, not 50).
Node ids are assigned in age order — ``first_seen``, then type priority, then a
fixed hash of the value — so "the oldest identifier of a component" is simply
its smallest node.

Edges: each record links the identifiers it carries as a star from its
highest-priority *linked* identifier; edges are deduplicated and each keeps
the first record that carried it (in record order: tables in `records.TABLES`
order, then event time, then record id), which is what `spanning_links` shows.

Protection, decided tier by tier in priority order (customer_ref, email,
phone, anonymous_id by default, then the internal ``ticket``):

* blocklisted values never become nodes (see `records`);
* for a type with a limit in ``max_customers_per_identifier``, each value
  counts the distinct customers it co-occurs with, a customer being a
  connected component of the identifiers already accepted in the higher tiers.
  A value seen with more than ``limit`` of them is *shared* (a household phone,
  a family laptop): it stays a node, listed with status 'shared', but adds no
  edges. Because higher tiers are settled first, the higher-priority
  identifiers win whenever a limit forces a choice.

Components come from `scipy.sparse.csgraph.connected_components`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components

_NO_TIME = np.iinfo(np.int64).max  # a record without an event time sorts last


@dataclass(frozen=True)
class Graph:
    """The resolved graph.

    ``nodes``: node, id_type, value, first_seen, last_seen, records, first_rec, tier, status, comp.
    ``edges``: u, v (node ids, u the higher-priority end), rec (first record that carried the edge),
    evidence (null for a shared identifier; the probabilistic match's evidence otherwise).
    ``rec_hub``: per record the node it attaches by (its highest-priority linked identifier), -1 if none.
    """

    nodes: pl.DataFrame
    edges: pl.DataFrame
    rec_hub: np.ndarray
    comp: np.ndarray
    n_components: int


def build(
    nodes: pl.DataFrame,
    rec: np.ndarray,
    node: np.ndarray,
    tier: np.ndarray,
    n_records: int,
    limits: dict[int, int],
    extra: pl.DataFrame | None = None,
) -> Graph:
    """Protected edges and components over ``nodes``; ``rec``/``node``/``tier`` are the record links sorted by
    rec, tier, node (see `records.Extracted`) and ``limits`` maps tier -> max customers.

    ``extra`` (u, v, rec, evidence) are links found without a shared identifier (probabilistic matches of
    CRM records): they hold from the start, so sharing limits count customers with them already joined.
    """
    n_nodes = nodes.height
    node_tier = nodes["tier"].to_numpy()
    extra = _no_extra() if extra is None else extra
    extra_u, extra_v = extra["u"].to_numpy().astype(np.int64), extra["v"].to_numpy().astype(np.int64)

    shared = _shared(rec, node, tier, node_tier, n_records, limits, (extra_u, extra_v))
    keep = ~shared[node]
    hub_rec, hub, u, v, edge_rec = _star(rec[keep], node[keep])
    rec_hub = np.full(n_records, -1, dtype=np.int64)
    rec_hub[hub_rec] = hub
    # grouped on one packed u64 per edge (node ids fit 32 bits), twice as fast as on the (u, v) pair
    edges = (
        pl.DataFrame({"uv": (u.astype(np.uint64) << np.uint64(32)) | v.astype(np.uint64), "rec": edge_rec})
        .group_by("uv")
        .agg(pl.col("rec").min())
        .select(
            (pl.col("uv") // (1 << 32)).cast(pl.Int64).alias("u"),
            (pl.col("uv") % (1 << 32)).cast(pl.Int64).alias("v"),
            "rec",
            pl.lit(None, pl.String).alias("evidence"),
        )
    )
    edges = pl.concat([edges, extra.select(edges.columns)], how="vertical_relaxed").sort("u", "v")
    n_comp, comp = _components(n_nodes, edges["u"].to_numpy(), edges["v"].to_numpy())
    status = np.where(shared, "shared", "linked")
    nodes = nodes.with_columns(pl.Series("status", status), pl.Series("comp", comp))
    return Graph(nodes=nodes, edges=edges, rec_hub=rec_hub, comp=comp, n_components=n_comp)


def _no_extra() -> pl.DataFrame:
    return pl.DataFrame(schema={"u": pl.Int64, "v": pl.Int64, "rec": pl.Int64, "evidence": pl.String})


def _star(rec: np.ndarray, node: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per record (rows sorted by rec, tier, node) the hub and the edges hub -> every other identifier."""
    n = rec.size
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, empty, empty
    start = np.empty(n, dtype=bool)
    start[0] = True
    np.not_equal(rec[1:], rec[:-1], out=start[1:])
    first = np.flatnonzero(start)
    hub = node[first]
    # each row's hub, by repeating it over its record's run of rows (a third faster than a running maximum)
    hub_of_row = np.repeat(hub, np.diff(np.append(first, n)))
    spoke = ~start
    return rec[first], hub, hub_of_row[spoke], node[spoke], rec[spoke]


def _components(n_nodes: int, u: np.ndarray, v: np.ndarray) -> tuple[int, np.ndarray]:
    matrix = coo_matrix((np.ones(u.size, dtype=np.int8), (u, v)), shape=(n_nodes, n_nodes)).tocsr()
    n_comp, labels = connected_components(matrix, directed=False)
    return int(n_comp), labels.astype(np.int64)


def _shared(
    rec: np.ndarray,
    node: np.ndarray,
    tier: np.ndarray,
    node_tier: np.ndarray,
    n_records: int,
    limits: dict[int, int],
    extra: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """Which nodes are shared: tier by tier, a node of a limited tier whose records touch more than the limit
    of distinct components of the graph accepted so far (the higher tiers' unshared nodes).

    The components grow tier by tier: each tier's accepted links join what their records already belong to,
    so each tier reads only its own links instead of rebuilding the graph of all higher tiers.
    """
    n_nodes = node_tier.size
    shared = np.zeros(n_nodes, dtype=bool)
    limited = [int(t) for t in np.unique(node_tier) if int(t) in limits]
    if not limited:
        return shared
    # per node its component so far: probabilistic links hold from the start
    _, label = _components(n_nodes, *extra)
    # per record one of its accepted identifiers, so label[anchor[rec]] stays its component as components merge
    anchor = np.full(n_records, -1, dtype=np.int64)
    # each tier's links in one slice, still sorted by record (a small-integer stable sort is a radix sort)
    by_tier = np.argsort(tier.astype(np.int8), kind="stable")
    bounds = np.searchsorted(tier[by_tier], np.arange(max(limited) + 2))
    for t in range(max(limited) + 1):  # later tiers cannot make anything shared
        rows = by_tier[bounds[t] : bounds[t + 1]]
        t_rec, t_node = rec[rows], node[rows]
        if t in limits:
            held = anchor[t_rec]
            comp = np.where(held >= 0, label[held], -1)
            shared |= (node_tier == t) & (_customers_per_node(t_node, comp, n_nodes) > limits[t])
        kept = ~shared[t_node]
        t_rec, t_node = t_rec[kept], t_node[kept]
        if t_rec.size == 0 or t == max(limited):
            continue
        # a record first placed at this tier is anchored at one of its identifiers of the tier (any one: the
        # links below join them all to it)
        fresh = anchor[t_rec] < 0
        anchor[t_rec[fresh]] = t_node[fresh]
        _, merged = _components(n_nodes, label[anchor[t_rec]], label[t_node])
        label = merged[label]
    return shared


def _customers_per_node(t_node: np.ndarray, t_comp: np.ndarray, n_nodes: int) -> np.ndarray:
    """For every node, how many distinct components its links (``t_node``, their records' ``t_comp``) touch."""
    placed = t_comp >= 0
    # distinct (node, comp) pairs as one packed u64 each (both ids fit 32 bits): a hash unique over one integer
    # column is several times cheaper than a frame unique followed by a group_by
    packed = (t_node[placed].astype(np.uint64) << np.uint64(32)) | t_comp[placed].astype(np.uint64)
    distinct = pl.Series(packed, dtype=pl.UInt64).unique().to_numpy()
    return np.bincount((distinct >> np.uint64(32)).astype(np.int64), minlength=n_nodes).astype(np.int64)


def spanning_links(graph: Graph, comp: int, edges: pl.DataFrame | None = None) -> pl.DataFrame:
    """The tree edges holding one component together, from a breadth-first tree rooted at its oldest identifier.

    Columns: parent, child (node ids), rec (the record that carried the link), evidence (null unless the link
    is a probabilistic match). Empty for one-node components.
    ``edges`` may be a subset of ``graph.edges`` that still holds the component's (faster for many calls).
    """
    members = np.flatnonzero(graph.comp == comp)
    schema = {"parent": pl.Int64, "child": pl.Int64, "rec": pl.Int64, "evidence": pl.String}
    if members.size < 2:
        return pl.DataFrame(schema=schema)
    local = pl.DataFrame({"node": members, "local": np.arange(members.size)})
    sub = (
        (graph.edges if edges is None else edges)
        .lazy()
        .join(local.lazy().rename({"node": "u", "local": "lu"}), on="u")
        .join(local.lazy().rename({"node": "v", "local": "lv"}), on="v")
        .collect()
    )
    lu, lv = sub["lu"].to_numpy(), sub["lv"].to_numpy()
    matrix = coo_matrix((np.ones(lu.size, dtype=np.int8), (lu, lv)), shape=(members.size, members.size)).tocsr()
    order, pred = breadth_first_order(matrix, 0, directed=False, return_predecessors=True)  # 0 = oldest member
    child = order[1:]
    parent = pred[child]
    tree = pl.DataFrame({"parent": members[parent], "child": members[child]}).with_columns(
        pl.min_horizontal("parent", "child").alias("a"), pl.max_horizontal("parent", "child").alias("b")
    )
    # an edge is stored once as (u, v); the tree may walk it either way
    lookup = sub.select(
        pl.min_horizontal("u", "v").cast(pl.Int64).alias("a"),
        pl.max_horizontal("u", "v").cast(pl.Int64).alias("b"),
        "rec",
        "evidence",
    ).unique(["a", "b"], keep="first")
    return (
        tree.with_columns(pl.col("a", "b").cast(pl.Int64))
        .join(lookup, on=["a", "b"], how="left")
        .select(
            pl.col("parent").cast(pl.Int64),
            pl.col("child").cast(pl.Int64),
            pl.col("rec").cast(pl.Int64),
            "evidence",
        )
    )


def tree_path(links: pl.DataFrame, target: int) -> pl.DataFrame:
    """The links from the root of ``links`` (a `spanning_links` tree) down to ``target``, root first."""
    parent_of = dict(
        zip(
            links["child"].to_list(),
            zip(links["parent"].to_list(), links["rec"].to_list(), strict=True),
            strict=True,
        )
    )
    path = []
    node = target
    while node in parent_of:  # a tree of one component: at most its size steps
        parent, rec = parent_of[node]
        path.append((parent, node, rec))
        node = parent
    path.reverse()
    return pl.DataFrame(path, schema={"parent": pl.Int64, "child": pl.Int64, "rec": pl.Int64}, orient="row")
