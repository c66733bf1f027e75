"""A generated project's fact tables keyed by the true person (truth/identity.parquet), built by cxdata.marts.

Measuring a model on these keeps identity resolution out of its figures: tests of the models and the churn
ceiling (`cxdata.synth.ceiling`) read them.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from cxdata import marts
from cxdata.churn.features import ChurnInputs
from cxdata.clv.rfm import purchases
from cxdata.config import ProjectConfig, load_config
from cxdata.io import load_table


def person_facts(root: Path) -> tuple[ProjectConfig, dict[str, pl.DataFrame]]:
    """The project's config and its fct_orders/tickets/surveys/web_sessions/touches with customer_key = person."""
    config = load_config(Path(root) / "cxdata.yaml")
    truth = pl.read_parquet(Path(root) / "truth" / "identity.parquet")
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


def churn_inputs(facts: dict[str, pl.DataFrame]) -> ChurnInputs:
    """ChurnInputs over `person_facts` (kept orders only), as `cxdata.churn.reads.read_inputs` reads them."""
    orders = purchases(facts["fct_orders"].lazy()).select("customer_key", "ordered_at", "amount")
    return ChurnInputs(
        orders=orders,
        tickets=facts["fct_tickets"].lazy(),
        surveys=facts["fct_surveys"].lazy(),
        sessions=facts["fct_web_sessions"].lazy(),
        touches=facts["fct_touches"].lazy(),
    )
