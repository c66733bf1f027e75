"""How far above BTYD any churn score can get on the synthetic projects: the Bayes ceiling.

    uv run python benchmarks/churn_ceiling.py [--customers 4000] [--seeds 17 5 11 23]

For each seed it generates a project, scores churn at as_of the way tests/churn/test_truth.py does, and
prints the ROC AUC against the truth (no order in the horizon after as_of) of

- BTYD's P(no purchase), the baseline, and the trained classifier;
- the Bayes posterior P(no purchase) under the generator's own process and its true population parameters
  (lambda ~ Gamma(r, alpha); dropout p ~ Beta(a, b) at every purchase, times the bad-service factor when
  that order's ticket missed the SLA or scored a low CSAT, times 1 - retention effect after a retention
  send in the window before it), given the observable history: the orders; signs of life after the last
  order (a web session, a click or impression, an NPS answer: none happens after dropout); the NPS answers
  as evidence about p (their latent mean is 9 - 10p); and, optimistically, the absence of signs of life,
  with its rate and the share of people it applies to chosen on the scored data itself.

No score built from the same data can beat that posterior except by chance: what separates it from a
perfect score is each person's own lambda and p, which a few orders do not reveal.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path

import numpy as np
import polars as pl
from scipy.special import gammaln
from scipy.stats import beta, norm
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).parents[1]))  # the repository root, for the tests' fact helper

from cxdata.churn.features import build_features
from cxdata.churn.score import score_churn
from cxdata.churn.train import train
from cxdata.run_context import end_of_day
from cxdata.synth import SynthParams, generate_project
from tests.churn.conftest import inputs_of
from tests.facts import person_facts

NPS_NOISE_SD = 1.5  # cxdata/synth/service.py: latent NPS = 9 - 10 p - 2 had_bad + N(0, 1.5)


def _evidence(root: Path, params: SynthParams) -> tuple[pl.DataFrame, int]:
    config, facts = person_facts(root)
    as_of = end_of_day(config.as_of, config.timezone)
    churn = config.models.churn
    inputs = inputs_of(facts)
    features = build_features(inputs, as_of, churn)
    scores = score_churn(train(inputs, churn, as_of), inputs, as_of, churn, "ceiling")
    end = as_of + dt.timedelta(days=churn.horizon_days)
    bought = (
        pl.read_parquet(root / "truth" / "future_orders.parquet")
        .filter(pl.col("ordered_at") <= end)
        .select(pl.col("person_id").cast(pl.String).alias("customer_key"))
        .unique()
    )
    last_order = pl.col("last_order_at")
    orders = facts["fct_orders"].filter(~pl.col("is_refund") & (pl.col("ordered_at") <= as_of))
    last = orders.group_by("customer_key").agg(pl.col("ordered_at").max().alias("last_order_at"))
    effects = {c.campaign: c.retention_effect for c in params.campaigns if c.retention_effect > 0}
    window = dt.timedelta(days=params.retention_window_days)
    retention = (
        facts["fct_touches"]
        .filter(
            (pl.col("kind") == "sent") & pl.col("campaign").is_in(list(effects)) & (pl.col("occurred_at") <= as_of)
        )
        .join(last, on="customer_key")
        .filter((pl.col("occurred_at") <= last_order) & (pl.col("occurred_at") > last_order - window))
        .group_by("customer_key")
        .agg(pl.col("campaign").replace_strict(effects, return_dtype=pl.Float64).max().alias("retention_effect"))
    )
    nps = (
        facts["fct_surveys"]
        .filter((pl.col("kind") == "nps") & (pl.col("responded_at") <= as_of))
        .join(last, on="customer_key")
        .group_by("customer_key")
        .agg(pl.col("score").alias("nps_scores"), (pl.col("responded_at") > last_order).any().alias("nps_after"))
    )
    frame = (
        features.join(scores.select("customer_key", "churn_probability"), on="customer_key")
        .join(bought.with_columns(pl.lit(False).alias("churned")), on="customer_key", how="left")
        .join(retention, on="customer_key", how="left")
        .join(nps, on="customer_key", how="left")
        .with_columns(
            pl.col("churned").fill_null(True),
            pl.col("retention_effect").fill_null(0.0),
            pl.col("nps_after").fill_null(False),
        )
    )
    return frame, churn.horizon_days


def _posterior(frame: pl.DataFrame, params: SynthParams, horizon: int, rate: float, share: float) -> np.ndarray:
    """P(no purchase in the horizon | observable history) under the generator's process."""
    p = beta.ppf((np.arange(2000) + 0.5) / 2000, params.dropout_a, params.dropout_b)
    r, alpha = params.purchase_r, params.purchase_alpha
    x = frame["frequency"].to_numpy().astype(float)
    age = frame["tenure_days"].to_numpy()
    gap = frame["days_since_last_order"].to_numpy()
    slow = frame["last_first_response_hours"].fill_null(0.0) > params.sla_hours
    low = frame["last_csat"].fill_null(5.0) <= params.bad_csat_max
    bad = ((frame["ticket_since_last_order"].fill_null(0.0) > 0) & (slow | low)).to_numpy()
    seen = (
        (frame["sessions_since_last_order"] + frame["contacts_seen_since_last_order"] > 0) | frame["nps_after"]
    ).to_numpy()
    factor = np.where(bad, params.bad_service_dropout_factor, 1.0) * (1 - frame["retention_effect"].to_numpy())
    last_drop = np.minimum(1.0, p[None, :] * factor[:, None])
    weight = (1 - p[None, :]) ** x[:, None]  # survived the dropout decision at every earlier purchase
    mean = 9.0 - 10.0 * p
    for i, scores in enumerate(frame["nps_scores"].to_list()):
        for score in scores or []:
            high = 1.0 if score >= 10 else norm.cdf((score + 0.5 - mean) / NPS_NOISE_SD)
            low_ = 0.0 if score <= 0 else norm.cdf((score - 0.5 - mean) / NPS_NOISE_SD)
            weight[i] *= np.maximum(high - low_, 1e-300) / np.max(np.maximum(high - low_, 1e-300))
    # lambda integrates out: Gamma(r + x) / (alpha + exposure)^(r + x), alive exposed to the age, dead to t_x
    log_alive = gammaln(r + x) - (r + x) * np.log(alpha + age)
    log_dead = gammaln(r + x) - (r + x) * np.log(alpha + age - gap)
    unseen_if_alive = 1 - share * (1 - np.exp(-rate * gap))
    alive = np.exp(log_alive) * (weight * (1 - last_drop)).mean(1) * np.where(seen, 1.0, unseen_if_alive)
    dead = np.exp(log_dead) * (weight * last_drop).mean(1) * np.where(seen, 0.0, 1.0)
    p_alive = alive / (alive + dead)
    quiet_if_alive = ((alpha + age) / (alpha + age + horizon)) ** (r + x)
    return 1 - p_alive * (1 - quiet_if_alive)


def main() -> None:
    """Print, per seed, the AUC of BTYD, of the classifier and of the Bayes ceiling, and the margins."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=4000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[17, 5, 11, 23])
    args = parser.parse_args()
    for seed in args.seeds:
        params = SynthParams(customers=args.customers, seed=seed)
        with tempfile.TemporaryDirectory() as tmp:
            generate_project(Path(tmp), params)
            frame, horizon = _evidence(Path(tmp), params)
        y = frame["churned"].to_numpy()
        btyd = roc_auc_score(y, frame["btyd_p_no_purchase"].to_numpy())
        model = roc_auc_score(y, frame["churn_probability"].to_numpy())
        ceiling, rate, share = max(
            (roc_auc_score(y, _posterior(frame, params, horizon, rate, share)), rate, share)
            for rate in (0.0, 0.001, 0.003, 0.01, 0.03, 0.1)
            for share in (0.2, 0.4, 0.6, 0.8, 1.0)
        )
        print(
            f"seed {seed:>3}  {frame.height:,} customers  BTYD {btyd:.4f}  classifier {model:.4f} "
            f"({model - btyd:+.4f})  Bayes ceiling {ceiling:.4f} ({ceiling - btyd:+.4f}; absence of signs of "
            f"life at {rate}/day for {share:.0%} of people)",
            flush=True,
        )


if __name__ == "__main__":
    main()
