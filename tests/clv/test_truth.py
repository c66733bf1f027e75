"""CLV against the generator's truth: the future orders it simulated past as_of.

Orders are keyed by the true person (truth/identity.parquet), so these figures
measure the CLV models alone, not identity resolution.

Spearman bound: the generator draws each person's purchase rate, dropout and
mean spend independently (Gamma / Beta / Gamma-Gamma), so a year of future
revenue is very noisy per person (Poisson counts times Gamma amounts): even the
true expectation ranks it imperfectly. The bound asserts the model ranks
clearly better than the naive RFM heuristic "past rate times past mean spend",
and at least 0.5 (a strong rank association by the usual convention).
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy.stats import spearmanr

from cxdata.clv.btyd import BtydModel
from cxdata.clv.evaluate import evaluate, fit_spend
from cxdata.clv.rfm import purchases, rfm_summary
from cxdata.clv.score import score_customers
from cxdata.run_context import end_of_day

SPEARMAN_FLOOR = 0.5


def test_clv_against_future_truth(truth_project):
    root, config, orders = truth_project
    clv = config.models.clv
    as_of = end_of_day(config.as_of, config.timezone)
    kept = purchases(orders.lazy()).select("customer_key", "ordered_at", "amount")
    evaluation = evaluate(kept, clv, as_of)
    assert evaluation.failed is None, evaluation.failed
    chosen = evaluation.chosen
    rfm = rfm_summary(kept, as_of, clv.period).collect()
    model = BtydModel(chosen.model, penalizer=chosen.penalizer, seed=clv.seed).fit(rfm)
    spend = fit_spend(rfm, clv)
    scores = score_customers(
        rfm,
        model,
        spend.model,
        as_of=as_of,
        model_run_id="truth",
        horizon_days=clv.horizon_days,
        period=clv.period,
        annual_discount_rate=clv.annual_discount_rate,
    )
    future = (
        pl.read_parquet(root / "truth" / "future_orders.parquet")
        .group_by(pl.col("person_id").cast(pl.String).alias("customer_key"))
        .agg(pl.len().alias("orders"), pl.col("amount").sum().alias("revenue"))
    )
    joined = scores.join(future, on="customer_key", how="left").with_columns(
        pl.col("orders", "revenue").fill_null(0)
    )
    predicted, actual = joined["expected_purchases"].sum(), joined["orders"].sum()
    error = predicted / actual - 1
    rho = spearmanr(joined["clv"], joined["revenue"]).statistic
    f, t, m = (joined[c].to_numpy() for c in ("frequency", "T", "monetary_value"))
    naive = np.divide(f, t, out=np.zeros_like(f), where=t > 0) * m
    naive_rho = spearmanr(naive, joined["revenue"]).statistic
    print(
        f"\nmodel {model.model} (penalizer {model.penalizer}); "
        f"holdout {evaluation.metrics['aggregate_error']:+.2%}; "
        f"future purchases predicted {predicted:.0f} vs actual {actual} ({error:+.2%}); "
        f"Spearman(clv, future revenue) {rho:.3f}, naive {naive_rho:.3f}"
    )
    assert abs(error) <= 0.10
    assert rho >= SPEARMAN_FLOOR
    assert rho > naive_rho
    assert scores["p_alive"].is_between(0, 1).all()
