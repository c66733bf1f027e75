"""Generated projects as the touchpoint step reads them: fact tables keyed by the true person, costs, CLV."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from cxdata.config import ProjectConfig
from cxdata.io import load_table
from cxdata.run_context import run_context
from cxdata.touchpoints.step import touchpoint_step
from cxdata.warehouse import Warehouse

from ..facts import person_facts


def person_tables(root: Path) -> tuple[ProjectConfig, dict[str, pl.DataFrame]]:
    """The project's facts keyed by the true person (tests/facts.py), the staged costs and a customer_scores
    stand-in (clv = the customer's historical revenue)."""
    config, tables = person_facts(root)
    tables["stg_touchpoint_costs"] = load_table(config, "touchpoint_costs")
    tables["customer_scores"] = (
        tables["fct_orders"]
        .filter(~pl.col("is_refund") & pl.col("customer_key").is_not_null())
        .group_by("customer_key")
        .agg(pl.col("amount").sum().alias("clv"))
    )
    return config, tables


def scored_project(root: Path, run_id: str) -> tuple[ProjectConfig, dict[str, pl.DataFrame], pl.DataFrame]:
    """`person_tables` published to a DuckDB file in ``root``, the touchpoint step run at as_of, and the
    touchpoint_scores it published."""
    config, tables = person_tables(root)
    with Warehouse(f"duckdb:///{root / 'warehouse.duckdb'}") as wh:
        for name, frame in tables.items():
            wh.publish(name, frame)
        touchpoint_step(wh, config, run_context(wh, config, run_id))
        return config, tables, wh.read("touchpoint_scores")


def with_touchpoints(config: ProjectConfig, **update) -> ProjectConfig:
    """``config`` with models.touchpoints fields replaced."""
    touchpoints = config.models.touchpoints.model_copy(update=update)
    return config.model_copy(update={"models": config.models.model_copy(update={"touchpoints": touchpoints})})
