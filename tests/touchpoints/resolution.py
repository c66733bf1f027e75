"""How precisely a generated project can tell each campaign's return from the hurdle.

Two noises stand between a campaign's true return and any estimate of it:

- the truth's own: its caused orders (and saves) are Poisson draws, so the realised return could have come
  out the other way by chance (one standard deviation: sqrt(caused + saves + 1) orders);
- the observable floor: an effect that comes through clicks shows up only as orders in the response
  windows after those clicks, next to the organic orders there, whose Poisson spread no comparison window
  removes. For a campaign whose contact is itself a click (search, affiliate), a click followed by an order
  within its session cannot be told from demand the order itself caused (captured clicks), so only the
  orders after the session of the other clicks are evidence, scaled up by the share of caused orders that
  come after the session. This is the smallest floor any estimator has: it assumes, as the generator does,
  that nothing works without a click.

Both are expressed in return units (orders x mean order value / cost) and added in quadrature.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl


def click_evidence(
    tables: dict[str, pl.DataFrame], by_click: pl.DataFrame, session: float, response: float
) -> pl.DataFrame:
    """Per campaign (channel, campaign), evidence_orders: the orders in ``(session, response]`` days after its
    clicks without an order in their session when its contact is a click (``by_click``: channel, campaign,
    by_click), else in ``(0, response]`` days after its clicks."""
    clicks = (
        tables["fct_touches"]
        .filter(pl.col("kind") == "click")
        .join(by_click, on=["channel", "campaign"])
        .select("channel", "campaign", "by_click", "customer_key", pl.col("occurred_at").alias("clicked_at"))
        .with_row_index("click")
    )
    orders = tables["fct_orders"].filter(~pl.col("is_refund")).select("customer_key", "ordered_at")
    after = clicks.join(orders, on="customer_key").with_columns(
        ((pl.col("ordered_at") - pl.col("clicked_at")).dt.total_seconds() / 86_400).alias("days")
    )
    in_session = after.filter(pl.col("by_click") & (pl.col("days") > 0) & (pl.col("days") <= session))
    start = pl.when(pl.col("by_click")).then(session).otherwise(0.0)
    evidence = after.join(in_session.select("click").unique(), on="click", how="anti").filter(
        (pl.col("days") > start) & (pl.col("days") <= response)
    )
    return by_click.join(
        evidence.group_by("channel", "campaign").len("evidence_orders"), on=["channel", "campaign"], how="left"
    ).with_columns(pl.col("evidence_orders").fill_null(0))


def resolution(root: Path, tables: dict[str, pl.DataFrame], session: float, response: float) -> pl.DataFrame:
    """Per campaign of ``root``'s truth/touchpoints.csv (service rows left out): channel, campaign, cost,
    true_roi, evidence_orders, truth_sd, floor_sd and sd (both in quadrature), in return units; ``tables`` are
    the project's person-keyed facts, ``session`` and ``response`` the scoring windows in days."""
    params = json.loads((root / "truth" / "params.json").read_text())
    late_share = 1.0 - params["in_session_order_share"]
    by_click = pl.DataFrame(params["campaigns"]).select(
        "channel", "campaign", (pl.col("contact_kind") == "click").alias("by_click")
    )
    truth = pl.read_csv(root / "truth" / "touchpoints.csv").filter(pl.col("channel") != "service")
    per_order = truth["true_incremental_revenue"].sum() / max(truth["caused_orders"].sum(), 1)
    value = tables["fct_orders"].filter(~pl.col("is_refund"))["amount"].mean()
    evidence_scale = pl.when(pl.col("by_click")).then(value / late_share).otherwise(value)
    return (
        truth.join(click_evidence(tables, by_click, session, response), on=["channel", "campaign"])
        .select(
            "channel",
            "campaign",
            "cost",
            "true_roi",
            "evidence_orders",
            ((pl.col("caused_orders") + pl.col("saves") + 1).sqrt() * per_order / pl.col("cost")).alias(
                "truth_sd"
            ),
            (pl.col("evidence_orders").sqrt() * evidence_scale / pl.col("cost")).alias("floor_sd"),
        )
        .with_columns((pl.col("truth_sd") ** 2 + pl.col("floor_sd") ** 2).sqrt().alias("sd"))
    )
