"""Generated projects as the touchpoint step reads them: fact tables keyed by the true person, costs, CLV."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from cxdata import marts
from cxdata.config import ProjectConfig, load_config
from cxdata.io import load_table


def person_tables(root: Path) -> tuple[ProjectConfig, dict[str, pl.DataFrame]]:
    """The project's config, its facts built by cxdata.marts with the true person as customer_key, the staged
    costs and a customer_scores stand-in (clv = the customer's historical revenue)."""
    config = load_config(root / "cxdata.yaml")
    truth = pl.read_parquet(root / "truth" / "identity.parquet")
    keys = truth.select(
        pl.col("source_table").cast(pl.String),
        pl.col("record_id").cast(pl.String),
        pl.col("person_id").cast(pl.String).alias("customer_key"),
    ).lazy()
    staged = {t: load_table(config, t).lazy() for t in ("orders", "tickets", "web_events", "touches")}
    facts = {
        "fct_orders": marts.fct_orders(staged["orders"], keys),
        "fct_tickets": marts.fct_tickets(staged["tickets"], keys),
        "fct_web_sessions": marts.fct_web_sessions(staged["web_events"], keys),
        "fct_touches": marts.fct_touches(staged["touches"], keys),
    }
    tables = {name: frame.collect() for name, frame in facts.items()}
    tables["stg_touchpoint_costs"] = load_table(config, "touchpoint_costs")
    tables["customer_scores"] = (
        tables["fct_orders"]
        .filter(~pl.col("is_refund") & pl.col("customer_key").is_not_null())
        .group_by("customer_key")
        .agg(pl.col("amount").sum().alias("clv"))
    )
    return config, tables


def with_touchpoints(config: ProjectConfig, **update) -> ProjectConfig:
    """``config`` with models.touchpoints fields replaced."""
    touchpoints = config.models.touchpoints.model_copy(update=update)
    return config.model_copy(update={"models": config.models.model_copy(update={"touchpoints": touchpoints})})
