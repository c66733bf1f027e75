"""The link table: which record carries which identifier, with the identifier's status.

One row per (record, identifier): source_table, record_id, identifier_type,
identifier_value, status (linked, shared or blocked; null for a record not yet
resolved), event_time. An incremental identity run finds through it the records
that carry a value (the closure of `cxdata.identity.incremental`) and rebuilds
the ``blocked`` rows of ``customer_identity``, which count every record carrying
a blocklisted value. Records without any identifier (the ``record`` stand-ins)
have no row: their key is in ``identity_record_keys``.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cxdata.schema import UTC_TIMESTAMP

LINK_SCHEMA = {
    "source_table": pl.String,
    "record_id": pl.String,
    "identifier_type": pl.String,
    "identifier_value": pl.String,
    "status": pl.String,
    "event_time": UTC_TIMESTAMP,
}
RECORD_ID = ["source_table", "record_id"]
IDENTIFIER = ["identifier_type", "identifier_value"]


def record_links(
    records: pl.DataFrame, rec: np.ndarray, node: np.ndarray, nodes: pl.DataFrame, blocked_links: pl.DataFrame
) -> pl.DataFrame:
    """The link rows of extracted records (see `records.Extracted`); ``nodes`` carries a status once the graph
    has decided it, else the status of usable identifiers is null."""
    status = pl.col("status") if "status" in nodes.columns else pl.lit(None, pl.String)
    by_rec = records.lazy().select(
        pl.col("rec").cast(pl.Int64),
        pl.col("source_table").cast(pl.String),
        "record_id",
        "event_time",
    )
    usable = (
        pl.DataFrame({"rec": rec.astype(np.int64), "node": node.astype(np.int64)})
        .lazy()
        .join(
            nodes.lazy().select(
                pl.col("node").cast(pl.Int64),
                pl.col("id_type").cast(pl.String).alias("identifier_type"),
                pl.col("value").alias("identifier_value"),
                status.alias("status"),
            ),
            on="node",
        )
        .drop("node")
    )
    blocked = blocked_links.lazy().select(
        pl.col("rec").cast(pl.Int64),
        pl.col("id_type").cast(pl.String).alias("identifier_type"),
        pl.col("value").alias("identifier_value"),
        pl.lit("blocked").alias("status"),
    )
    return (
        pl.concat([usable, blocked])
        .join(by_rec, on="rec")
        .select(list(LINK_SCHEMA))
        .sort([*RECORD_ID, *IDENTIFIER])
        .collect()
    )


def blocked_identity(links: pl.LazyFrame, values: pl.LazyFrame, run_id: str) -> pl.LazyFrame:
    """The ``blocked`` rows of ``customer_identity`` for ``values`` (identifier_type, identifier_value), counted
    over ``links``: the same figures a full resolve gives them."""
    return (
        links.filter(pl.col("status") == "blocked")
        .join(values.unique(), on=IDENTIFIER, how="semi")
        .group_by(IDENTIFIER)
        .agg(
            pl.col("event_time").min().alias("first_seen"),
            pl.col("event_time").max().alias("last_seen"),
            pl.len().cast(pl.Int64).alias("records"),
        )
        .select(
            *IDENTIFIER,
            pl.lit(None, pl.String).alias("customer_key"),
            pl.lit("blocked").alias("status"),
            "first_seen",
            "last_seen",
            "records",
            pl.lit(run_id).alias("run_id"),
        )
    )
