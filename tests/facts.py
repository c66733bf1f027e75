"""Fact tables of a generated project keyed by the true person (truth/identity.parquet), built by cxdata.marts.

Tests of the models use them so that their figures measure the model alone, not identity resolution.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from cxdata import marts
from cxdata.config import ProjectConfig, load_config
from cxdata.io import load_table


def person_facts(root: Path) -> tuple[ProjectConfig, dict[str, pl.DataFrame]]:
    """The project's config and its fct_orders/tickets/surveys/web_sessions/touches with customer_key = person."""
    config = load_config(root / "cxdata.yaml")
    truth = pl.read_parquet(root / "truth" / "identity.parquet")
    keys = truth.select(
        pl.col("source_table").cast(pl.String),
        pl.col("record_id").cast(pl.String),
        pl.col("person_id").cast(pl.String).alias("customer_key"),
    ).lazy()
    staged = {t: load_table(config, t).lazy() for t in ("orders", "tickets", "surveys", "web_events", "touches")}
    tickets = marts.fct_tickets(staged["tickets"], keys)
    facts = {
        "fct_orders": marts.fct_orders(staged["orders"], keys),
        "fct_tickets": tickets,
        "fct_surveys": marts.fct_surveys(staged["surveys"], keys, tickets),
        "fct_web_sessions": marts.fct_web_sessions(staged["web_events"], keys),
        "fct_touches": marts.fct_touches(staged["touches"], keys),
    }
    return config, {name: frame.collect() for name, frame in facts.items()}
