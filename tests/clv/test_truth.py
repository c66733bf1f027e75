"""CLV against the generator's truth: the future orders it simulated past as_of.

Orders are keyed by the true person (truth/identity.parquet), so these figures
measure the CLV models alone, not identity resolution.

Spearman bound: the generator draws each person's purchase rate, dropout and
mean spend independently (Gamma / Beta / Gamma-Gamma), so a year of future
revenue is very noisy per person (Poisson counts times Gamma amounts): even the
true expectation ranks it imperfectly. The bound asserts the model ranks
clearly better than the naive RFM heuristic "past rate times past mean spend",
and at least 0.5 (a strong rank association by the usual convention).

Boosted against BTYD (`test_boosted_not_worse_than_btyd_on_future_truth`): on a
project of realistic size whose seed served no tuning, the boosted candidate's
expected purchases over the horizon against the simulated future orders are not
worse than those of the BTYD model it sits on: mean Poisson deviance per customer
(the proper score of an expected count) no higher, and the aggregate error within
the 10% asked of BTYD above, or BTYD's own when that is larger.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy.stats import spearmanr

from cxdata.churn.features import touch_channels
from cxdata.clv import boosted
from cxdata.clv.btyd import BtydModel
from cxdata.clv.evaluate import evaluate, fit_spend
from cxdata.clv.rfm import purchases, rfm_summary
from cxdata.clv.score import score_customers
from cxdata.run_context import end_of_day
from cxdata.synth import SynthParams, generate_project
from cxdata.synth.facts import churn_inputs, person_facts

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


def _future(root) -> pl.DataFrame:
    return (
        pl.read_parquet(root / "truth" / "future_orders.parquet")
        .group_by(pl.col("person_id").cast(pl.String).alias("customer_key"))
        .agg(pl.len().alias("orders"))
    )


def _deviance(predicted: np.ndarray, actual: np.ndarray) -> float:
    log_ratio = np.where(actual > 0, actual * np.log(np.where(actual > 0, actual, 1) / predicted), 0.0)
    return float(np.mean(2.0 * (log_ratio - (actual - predicted))))


def test_boosted_not_worse_than_btyd_on_future_truth(tmp_path):
    root = tmp_path / "project"
    generate_project(root, SynthParams(customers=20_000, seed=41))
    config, facts = person_facts(root)
    clv = config.models.clv
    inputs = churn_inputs(facts)
    as_of = end_of_day(config.as_of, config.timezone)
    evaluation = evaluate(inputs.orders, clv, as_of, inputs=inputs, plots=False)
    assert evaluation.failed is None, evaluation.failed
    base = evaluation.chosen  # the BTYD model the boosted candidate sits on, chosen or not
    rfm = rfm_summary(inputs.orders, as_of, clv.period).collect()
    model = BtydModel(base.model, penalizer=base.penalizer, seed=clv.seed).fit(rfm)
    first = inputs.orders.select(pl.col("ordered_at").min()).collect().item()
    plan = boosted.plan(first, evaluation.calibration_end, as_of, clv)
    fit = boosted.fit_boosted(inputs, clv, plan.final, plan.window_days, touch_channels(inputs.touches, as_of))
    common = dict(
        as_of=as_of, model_run_id="truth", horizon_days=clv.horizon_days, period=clv.period,
        annual_discount_rate=clv.annual_discount_rate, fallback_spend=1.0,
    )  # fmt: skip
    btyd = score_customers(rfm, model, None, **common)
    mine = score_customers(rfm, model, None, boosted=fit.predict(inputs, as_of, clv), window_days=plan.window_days,
                           **common)  # fmt: skip
    future = _future(root)
    figures = {}
    for name, scores in (("btyd", btyd), ("boosted", mine)):
        joined = scores.join(future, on="customer_key", how="left").with_columns(pl.col("orders").fill_null(0))
        predicted, actual = joined["expected_purchases"].to_numpy(), joined["orders"].to_numpy().astype(float)
        figures[name] = (predicted.sum() / actual.sum() - 1, _deviance(predicted, actual))
    holdout = {c["model"]: round(c["aggregate_error"], 4) for c in evaluation.candidates if c.get("chosen")}
    print(f"\n{rfm.height} customers, base {model.model}, chosen on the holdout {holdout}; future purchases "
          + ", ".join(f"{k}: aggregate {e:+.2%}, deviance {d:.4f}" for k, (e, d) in figures.items()))  # fmt: skip
    (btyd_error, btyd_deviance), (error, deviance) = figures["btyd"], figures["boosted"]
    assert deviance <= btyd_deviance
    assert abs(error) <= max(0.10, abs(btyd_error))
