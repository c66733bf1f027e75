"""CRM duplicates as graph edges: the customers table prepared for `probabilistic.match_customers`, its pairs
turned into extra links between ``customer_ref`` nodes.

Only CRM records carry names and postcodes, so only they are matched
probabilistically; every other record still joins through shared identifiers,
and through the CRM record it shares one with. Identifiers are normalised and
blocklisted values removed exactly as the deterministic graph does, so a
placeholder email can never count as agreement.
"""

from __future__ import annotations

import polars as pl

from cxdata.config import IdentityConfig
from cxdata.identity import normalise
from cxdata.identity.probabilistic import match_customers
from cxdata.identity.records import blocklist

NAME_COLUMNS = ("first_name", "last_name", "postcode", "country")


def crm_links(
    customers: pl.DataFrame | pl.LazyFrame, config: IdentityConfig, nodes: pl.DataFrame, seed: int = 0
) -> tuple[pl.DataFrame, dict]:
    """Edges (u, v, rec, evidence) between the customer_ref nodes of probable duplicates, and run figures.

    ``nodes`` are the graph's nodes (node, id_type, value, first_rec); ``rec`` of an edge is the first record
    of its younger end, the record that brought the duplicate in.
    """
    lazy = customers.lazy()
    present = set(lazy.collect_schema().names())

    def column(name: str) -> pl.Expr:
        return pl.col(name).cast(pl.String) if name in present else pl.lit(None, pl.String)

    def unless_blocked(norm: pl.Expr, raw: pl.Expr, id_type: str) -> pl.Expr:
        listed = blocklist(config, id_type)
        is_blocked = raw.str.strip_chars().str.to_lowercase().is_in(listed) | norm.str.to_lowercase().is_in(listed)
        return pl.when(is_blocked).then(None).otherwise(norm)

    prepared = (
        lazy.select(
            normalise.customer_ref(column("customer_ref")).alias("customer_ref"),
            unless_blocked(normalise.email(column("email")), column("email"), "email").alias("email"),
            unless_blocked(
                normalise.phone(column("phone"), config.default_region, config.phone_regions),
                column("phone"),
                "phone",
            ).alias("phone"),
            *[column(name).alias(name) for name in NAME_COLUMNS],
        )
        .filter(pl.col("customer_ref").is_not_null())
        .unique("customer_ref", keep="first", maintain_order=True)
        .collect()
    )
    matches = match_customers(prepared, config.probabilistic.threshold, seed=seed)
    refs = nodes.filter(pl.col("id_type") == "customer_ref").select(
        pl.col("value"), pl.col("node").cast(pl.Int64), pl.col("first_rec").cast(pl.Int64)
    )
    edges = (
        matches.pairs.join(
            refs.rename({"value": "customer_ref_l", "node": "a", "first_rec": "rec_a"}), on="customer_ref_l"
        )
        .join(refs.rename({"value": "customer_ref_r", "node": "b", "first_rec": "rec_b"}), on="customer_ref_r")
        .select(
            pl.min_horizontal("a", "b").alias("u"),
            pl.max_horizontal("a", "b").alias("v"),
            pl.when(pl.col("a") > pl.col("b")).then("rec_a").otherwise("rec_b").alias("rec"),
            pl.concat_str(
                pl.lit("p="),
                pl.col("match_probability").round(4),
                pl.lit(" for "),
                "customer_ref_l",
                pl.lit(" and "),
                "customer_ref_r",
                pl.lit(": "),
                "evidence",
            ).alias("evidence"),
        )
        .unique(["u", "v"], keep="first")
        .sort("u", "v")
    )
    stats = {**matches.stats, "edges": edges.height, "threshold": config.probabilistic.threshold}
    return edges, stats
