"""Stable customer keys: inherit the previous run's keys through identifiers, log merges and splits.

``previous`` is the last run's ``customer_identity`` table (identifier ->
customer_key, with first_seen). Only its 'linked' rows carry keys.

* A component whose identifiers held no previous key gets a new key; a
  component of shared identifiers only (no record attaches to it) gets none.
* A previous key whose identifiers now fall into several components stays
  with the component holding its oldest identifier (previous first_seen, then
  node age); the others are SPLITs from it, logged ``old_key -> their key``.
* A component that keeps several previous keys is a MERGE: the survivor is
  the key whose oldest identifier is oldest (tie: smallest key); the others
  are logged ``old_key -> survivor``.

New keys are ``C`` + a 10-digit sequence continuing after the largest
``C<digits>`` key of ``previous`` (or from ``next_number``, when ``previous``
is only the part of the last run that an incremental run resolves again),
handed out in component age order (its oldest node), so they never collide and
the same inputs give the same keys.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cxdata.schema import UTC_TIMESTAMP

KEY_WIDTH = 10
_FAR_FUTURE = pl.datetime(9999, 1, 1, time_zone="UTC")


def next_key_number(
    previous: pl.DataFrame | pl.LazyFrame | None, retired: pl.DataFrame | pl.LazyFrame | None = None
) -> int:
    """The number the next fresh key gets: after the linked keys of ``previous`` and after every key of the
    merge log ``retired`` (old_key, new_key), so a key a merge retired is never given to someone else (1
    without any)."""
    found = []
    if previous is not None:
        linked = previous.lazy().filter((pl.col("status") == "linked") & pl.col("customer_key").is_not_null())
        found.append(linked.select(pl.col("customer_key").cast(pl.String)))
    if retired is not None:
        logged = retired.lazy().select(pl.concat_list("old_key", "new_key").explode().alias("customer_key"))
        found.append(logged.select(pl.col("customer_key").cast(pl.String)))
    if not found:
        return 1
    numbers = (
        pl.concat(found)
        .select(pl.col("customer_key").str.extract(r"^C(\d+)$").cast(pl.Int64).max())
        .collect()
        .item()
    )
    return (numbers or 0) + 1


def assign(
    nodes: pl.DataFrame,
    n_components: int,
    previous: pl.DataFrame | pl.LazyFrame | None,
    next_number: int | None = None,
) -> tuple[np.ndarray, pl.DataFrame]:
    """Key per component and the (comp, old_key, new_key, kind) events.

    ``nodes`` needs node, id_type, value, comp and status; only 'linked' nodes inherit keys. Fresh keys are
    numbered from ``next_number`` when given, else after the largest key of ``previous``.
    """
    events_schema = {
        "comp": pl.Int64,
        "old_key": pl.String,
        "new_key": pl.String,
        "kind": pl.String,
        "old_node": pl.Int64,
        "new_node": pl.Int64,
    }
    comp_key = np.full(n_components, None, dtype=object)
    events = pl.DataFrame(schema=events_schema)
    # a lazy ``previous`` is read only here, after the graph: the run's peak memory does not carry it
    prev = (
        None
        if previous is None
        else previous.lazy()
        .filter((pl.col("status") == "linked") & pl.col("customer_key").is_not_null())
        .select(
            pl.col("identifier_type").cast(pl.String).alias("id_type"),
            pl.col("identifier_value").cast(pl.String).alias("value"),
            pl.col("customer_key").cast(pl.String).alias("key"),
            pl.col("first_seen").cast(UTC_TIMESTAMP).fill_null(_FAR_FUTURE).alias("prev_first"),
        )
        .collect()
    )
    if next_number is None:
        next_number = next_key_number(None if prev is None else _as_identity(prev))
    if prev is not None and prev.height:
        # a key's age is its oldest identifier in the previous run, whether or not that identifier is still here
        key_age = prev.group_by("key").agg(pl.col("prev_first").min().alias("age"))
        held = (
            nodes.lazy()
            .filter(pl.col("status") == "linked")
            .select(pl.col("id_type").cast(pl.String), "value", "node", "comp")
            .join(prev.lazy(), on=["id_type", "value"])
            .group_by("comp", "key")
            .agg(pl.col("prev_first").min(), pl.col("node").min())
            # the component holding a key's oldest identifier keeps the key
            .sort("key", "prev_first", "node")
            .with_columns((pl.int_range(pl.len()).over("key") == 0).alias("keeps"))
            .collect()
        )
        winners = (
            held.filter("keeps")
            .join(key_age, on="key")
            .sort("comp", "age", "key")
            .with_columns(pl.col("key").first().over("comp").alias("survivor"))
        )
        survivors = winners.unique("comp", keep="first")
        comp_key[survivors["comp"].to_numpy()] = survivors["survivor"].to_numpy()
        survivor_node = winners.filter(pl.col("key") == pl.col("survivor")).select("comp", new_node="node")
        merges = (
            winners.filter(pl.col("key") != pl.col("survivor"))
            .join(survivor_node, on="comp")
            .select(
                pl.col("comp").cast(pl.Int64),
                pl.col("key").alias("old_key"),
                pl.col("survivor").alias("new_key"),
                pl.lit("merge").alias("kind"),
                pl.col("node").cast(pl.Int64).alias("old_node"),
                pl.col("new_node").cast(pl.Int64),
            )
        )
        events = pl.concat([events, merges])
        split_rows = held.filter(~pl.col("keeps"))
    else:
        split_rows = None

    # a shared identifier is a component of its own that no record attaches to: it gets no key, so that key
    # numbers depend only on the customers (an incremental run sees only the shared values it touches)
    has_linked = np.zeros(n_components, dtype=bool)
    has_linked[nodes.filter(pl.col("status") == "linked")["comp"].to_numpy()] = True
    fresh = np.flatnonzero((comp_key == None) & has_linked)  # noqa: E711 - elementwise test on an object array
    if fresh.size:
        # components are labelled in order of their smallest (oldest) node, so label order is age order
        numbers = pl.Series("n", np.arange(next_number, next_number + fresh.size))
        width = max(KEY_WIDTH, len(str(next_number + fresh.size)))
        comp_key[fresh] = ("C" + numbers.cast(pl.String).str.zfill(width)).to_numpy()
    if split_rows is not None and split_rows.height:
        splits = split_rows.select(
            pl.col("comp").cast(pl.Int64),
            pl.col("key").alias("old_key"),
            pl.Series("new_key", comp_key[split_rows["comp"].to_numpy()].tolist(), dtype=pl.String),
            pl.lit("split").alias("kind"),
            pl.col("node").cast(pl.Int64).alias("old_node"),
            pl.lit(None, pl.Int64).alias("new_node"),
        )
        events = pl.concat([events, splits])
    return comp_key, events.sort("kind", "old_key", "new_key")


def _as_identity(prev: pl.DataFrame) -> pl.DataFrame:
    return prev.select(pl.col("key").alias("customer_key"), pl.lit("linked").alias("status"))
