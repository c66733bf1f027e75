"""How far above BTYD any churn score can get on a generated project: the Bayes ceiling.

The ceiling is the posterior P(no purchase in the horizon) under the generator's own process and its true
population parameters (truth/params.json): lambda ~ Gamma(r, alpha); dropout p ~ Beta(a, b) at every
purchase, times the bad-service factor when that order's ticket missed the SLA or scored a low CSAT, times
1 - retention effect after a retention send in the window before it. It is given the observable history:
the orders; signs of life after the last order (a web session, a click or impression, an NPS answer: none
happens after dropout); the NPS answers as evidence about p (their latent mean is 9 - 10p); and,
optimistically, the absence of signs of life, with its rate and the share of people it applies to chosen
on the scored customers' own truth.

No score built from the same data can beat that posterior except by chance: what separates it from a
perfect score is each person's own lambda and p, which a few orders do not reveal.

>>> config, facts = person_facts(root)                                     # doctest: +SKIP
>>> features = build_features(churn_inputs(facts), as_of, config.models.churn)  # doctest: +SKIP
>>> bayes_ceiling(root, facts, features, as_of, config.models.churn.horizon_days).auc  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from scipy.stats import beta, norm
from sklearn.metrics import roc_auc_score

NPS_NOISE_SD = 1.5  # cxdata/synth/service.py: latent NPS = 9 - 10 p - 2 had_bad + N(0, 1.5)
P_GRID = 2000  # quantiles of Beta(a, b) that integrate p out
ROWS_PER_BLOCK = 4096  # customers per (customers x p grid) block, to bound memory
SILENCE_RATES = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1)  # per day
TRACKED_SHARES = (0.2, 0.4, 0.6, 0.8, 1.0)


@dataclass(frozen=True)
class TrueProcess:
    """The generator's parameters the posterior needs, as truth/params.json records them."""

    purchase_r: float
    purchase_alpha: float
    dropout_a: float
    dropout_b: float
    sla_hours: float
    bad_csat_max: float
    bad_service_dropout_factor: float
    retention_window_days: float
    retention_effects: dict[str, float]

    @classmethod
    def of_project(cls, root: Path) -> TrueProcess:
        """Read a generated project's truth/params.json."""
        doc = json.loads((Path(root) / "truth" / "params.json").read_text(encoding="utf-8"))
        if not doc["dropout_after_first_order"]:
            raise ValueError("the ceiling assumes a dropout decision after every purchase, the first included")
        names = [f for f in cls.__dataclass_fields__ if f != "retention_effects"]
        effects = {c["campaign"]: c["retention_effect"] for c in doc["campaigns"] if c["retention_effect"] > 0}
        return cls(**{f: doc[f] for f in names}, retention_effects=effects)


@dataclass(frozen=True)
class Ceiling:
    """The Bayes ceiling's scores (customer_key, churned, p_no_purchase), ROC AUC against the truth, and the
    silence rate and tracked share it was taken at."""

    scores: pl.DataFrame
    auc: float
    silence_rate: float
    tracked_share: float


def truth_churned(root: Path, customers: pl.DataFrame, as_of: dt.datetime, horizon_days: int) -> pl.DataFrame:
    """``customers`` with ``churned``: no order in truth/future_orders.parquet within the horizon after as_of."""
    end = as_of + dt.timedelta(days=horizon_days)
    bought = (
        pl.read_parquet(Path(root) / "truth" / "future_orders.parquet")
        .filter(pl.col("ordered_at") <= end)
        .select(pl.col("person_id").cast(pl.String).alias("customer_key"))
        .unique()
        .with_columns(pl.lit(False).alias("churned"))
    )
    return customers.join(bought, on="customer_key", how="left").with_columns(pl.col("churned").fill_null(True))


def evidence(
    features: pl.DataFrame, facts: dict[str, pl.DataFrame], process: TrueProcess, as_of: dt.datetime
) -> pl.DataFrame:
    """``features`` (a `build_features` frame) with what the posterior reads beyond them: the largest
    retention effect sent in the window before the last order, the NPS answers, and whether one came after
    the last order."""
    last_order = pl.col("last_order_at")
    orders = facts["fct_orders"].filter(~pl.col("is_refund") & (pl.col("ordered_at") <= as_of))
    last = orders.group_by("customer_key").agg(pl.col("ordered_at").max().alias("last_order_at"))
    effects = process.retention_effects
    window = dt.timedelta(days=process.retention_window_days)
    sent = (pl.col("kind") == "sent") & pl.col("campaign").is_in(list(effects)) & (pl.col("occurred_at") <= as_of)
    retention = (
        facts["fct_touches"]
        .filter(sent)
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
    return (
        features.join(retention, on="customer_key", how="left")
        .join(nps, on="customer_key", how="left")
        .with_columns(pl.col("retention_effect").fill_null(0.0), pl.col("nps_after").fill_null(False))
    )


def _nps_log_likelihood(frame: pl.DataFrame, p: np.ndarray) -> np.ndarray:
    """Per customer and p, the log-likelihood of the customer's NPS answers (rounded and clipped to 0..10)."""
    answers = (
        frame.select(pl.int_range(pl.len()).alias("row"), "nps_scores")
        .explode("nps_scores")
        .drop_nulls("nps_scores")
    )
    out = np.zeros((frame.height, p.size))
    if answers.height:
        score = answers["nps_scores"].to_numpy()[:, None]
        mean = 9.0 - 10.0 * p[None, :]
        high = np.where(score >= 10, 1.0, norm.cdf((score + 0.5 - mean) / NPS_NOISE_SD))
        low = np.where(score <= 0, 0.0, norm.cdf((score - 0.5 - mean) / NPS_NOISE_SD))
        np.add.at(out, answers["row"].to_numpy(), np.log(np.maximum(high - low, 1e-300)))
    return out


def _odds_dead(frame: pl.DataFrame, process: TrueProcess, p: np.ndarray) -> np.ndarray:
    """P(dead) / P(alive) given the orders, bad service, retention sends and NPS answers."""
    r, alpha = process.purchase_r, process.purchase_alpha
    x = frame["frequency"].to_numpy().astype(float)
    age = frame["tenure_days"].to_numpy()
    gap = frame["days_since_last_order"].to_numpy()
    slow = frame["last_first_response_hours"].fill_null(0.0) > process.sla_hours
    low = frame["last_csat"].fill_null(5.0) <= process.bad_csat_max
    bad = ((frame["ticket_since_last_order"].fill_null(0.0) > 0) & (slow | low)).to_numpy()
    factor = np.where(bad, process.bad_service_dropout_factor, 1.0) * (1 - frame["retention_effect"].to_numpy())
    last_drop = np.minimum(1.0, p[None, :] * factor[:, None])
    # survived the dropout decision at every earlier purchase; the NPS answers weigh p; a per-customer
    # constant cancels in the odds, so each row is scaled to its maximum against underflow
    log_weight = x[:, None] * np.log1p(-p)[None, :] + _nps_log_likelihood(frame, p)
    weight = np.exp(log_weight - log_weight.max(axis=1, keepdims=True))
    # lambda integrates out: Gamma(r + x) / (alpha + exposure)^(r + x), alive exposed to the age, dead to t_x
    log_ratio = (r + x) * (np.log(alpha + age) - np.log(alpha + age - gap))
    return np.exp(log_ratio) * (weight * last_drop).mean(1) / (weight * (1 - last_drop)).mean(1)


def posterior_parts(evidence_frame: pl.DataFrame, process: TrueProcess) -> tuple[np.ndarray, np.ndarray]:
    """Per customer, P(dead) / P(alive) given every observable but the silence since the last order (0 when
    seen since: the dead are never seen), and the days of that silence (0 when seen since)."""
    p = beta.ppf((np.arange(P_GRID) + 0.5) / P_GRID, process.dropout_a, process.dropout_b)
    blocks = [
        _odds_dead(evidence_frame.slice(start, ROWS_PER_BLOCK), process, p)
        for start in range(0, evidence_frame.height, ROWS_PER_BLOCK)
    ]
    odds = np.concatenate(blocks) if blocks else np.zeros(0)
    signs = pl.col("sessions_since_last_order") + pl.col("contacts_seen_since_last_order") > 0
    seen = evidence_frame.select(signs | pl.col("nps_after")).to_series().to_numpy()
    return np.where(seen, 0.0, odds), np.where(seen, 0.0, evidence_frame["days_since_last_order"].to_numpy())


def p_no_purchase(
    evidence_frame: pl.DataFrame,
    process: TrueProcess,
    horizon_days: int,
    silence_rate: float,
    tracked_share: float,
    parts: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """P(no purchase in the horizon | observable history) under the generator's process.

    An alive customer stays unseen for the ``d`` days since the last order with probability
    1 - tracked_share * (1 - exp(-silence_rate * d)). ``parts`` is `posterior_parts` of the same frame.
    """
    odds, silence = parts if parts is not None else posterior_parts(evidence_frame, process)
    unseen_if_alive = 1 - tracked_share + tracked_share * np.exp(-silence_rate * silence)
    with np.errstate(divide="ignore"):
        p_alive = 1 / (1 + odds / unseen_if_alive)
    r, alpha = process.purchase_r, process.purchase_alpha
    x = evidence_frame["frequency"].to_numpy().astype(float)
    age = evidence_frame["tenure_days"].to_numpy()
    quiet_if_alive = ((alpha + age) / (alpha + age + horizon_days)) ** (r + x)
    return 1 - p_alive * (1 - quiet_if_alive)


def bayes_ceiling(
    root: Path, facts: dict[str, pl.DataFrame], features: pl.DataFrame, as_of: dt.datetime, horizon_days: int
) -> Ceiling:
    """The Bayes posterior of every customer in ``features`` (a `build_features` frame at ``as_of`` over
    `person_facts`), at the silence rate and tracked share with the best ROC AUC against the truth."""
    process = TrueProcess.of_project(root)
    frame = truth_churned(root, evidence(features, facts, process, as_of), as_of, horizon_days)
    parts = posterior_parts(frame, process)
    y = frame["churned"].to_numpy()
    auc, rate, share, scores = max(
        (
            (roc_auc_score(y, s), rate, share, s)
            for rate in SILENCE_RATES
            for share in TRACKED_SHARES
            for s in [p_no_purchase(frame, process, horizon_days, rate, share, parts)]
        ),
        key=lambda t: t[0],
    )
    result = frame.select("customer_key", "churned", pl.Series("p_no_purchase", scores))
    return Ceiling(result, float(auc), rate, share)
