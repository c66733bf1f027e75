"""Churn scores at as_of: probability, percentile, value at risk and the top three reasons per customer.

Reasons (per-feature substitution against the typical customer who stayed):
the reference of a feature is its median over the training rows labelled
retained (`cxdata.churn.train.retained_reference`). For each of the
``reason_features`` most important features (permutation importance on the
holdout), the feature is set to its reference for every customer at once and
the model predicts again; the drop of the churn probability from the
customer's own value to the reference is that feature's contribution: how much
of this customer's risk that one difference from a typical retained customer
carries. A customer whom none of them raises is tried with the next features
with positive importance, in importance order, until one does: only those
customers are predicted again, each until it has a reason, so past the first
``reason_features`` passes the cost is at most one pass over them per further
feature. The three largest positive contributions become words with the
customer's own value ("no order for 143 days", "usual gap between orders 40
days", "2 open support tickets", `WORDS`); a feature without words of its own
reads "<feature> high (value)". Fewer than three reasons are given when fewer
features raise the risk: only features that do are reasons. The loop is over
features, never rows.

The reference is the retained customers' median, not everyone's: where most
customers churn, the median customer is at risk itself, and setting a feature
to its value lowers few customers' risk.
"""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import polars as pl

from cxdata.churn.features import ChurnInputs, Population, build_features
from cxdata.churn.train import Training, matrix
from cxdata.config import ChurnConfig

REASONS = ("churn_reason_1", "churn_reason_2", "churn_reason_3")
# The columns churn adds to customer_scores, with their types: null until a churn model scores the customer.
CHURN_SCHEMA = {
    "churn_model_run_id": pl.String,
    "churn_probability": pl.Float64,
    "churn_percentile": pl.Float64,
    "value_at_risk": pl.Float64,
    **dict.fromkeys(REASONS, pl.String),
    "segment": pl.String,
}


def without_churn(scores: pl.DataFrame) -> pl.DataFrame:
    """``scores`` with every churn column null: customer_scores always has all its columns, so the views on it
    and a reader's cached column list hold whether or not churn ran."""
    return scores.drop([c for c in CHURN_SCHEMA if c in scores.columns]).with_columns(
        pl.lit(None, dtype).alias(column) for column, dtype in CHURN_SCHEMA.items()
    )


def _substitute(
    training: Training,
    X: np.ndarray,
    churn: np.ndarray,
    rows: np.ndarray,
    j: int,
    to: float,
    work: np.ndarray | None,
) -> np.ndarray:
    """The drop of the churn probability of ``rows`` of ``X`` when column ``j`` is set to ``to``: on a copy of
    those rows, or for most rows in ``work`` (a matrix equal to X), whose column is put back afterwards."""
    if work is None:
        substituted = X[rows]
        substituted[:, j] = to
        return churn[rows] - training.model.predict_proba(substituted)[:, 1]
    own = work[:, j].copy()
    work[:, j] = to
    try:
        return churn - training.model.predict_proba(work)[:, 1]
    finally:
        work[:, j] = own


def _contributions(
    training: Training, X: np.ndarray, churn: np.ndarray, features: list[str], rows: np.ndarray, copy: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Values and contributions (rows x features) of ``features`` for ``rows`` of ``X``; a later feature is
    tried only on the rows no earlier one raised when ``rows`` are the fallback's (see the module doc)."""
    index = {name: j for j, name in enumerate(training.features)}
    reference = np.array([training.reference[n] for n in features])
    values = X[np.ix_(rows, [index[n] for n in features])]
    lifts = np.zeros((rows.size, len(features)))
    everyone = rows.size == X.shape[0]
    explained = np.zeros(rows.size, dtype=bool)
    work = None  # one copy of X whose columns are substituted in turn, for the features most rows differ on
    for k, name in enumerate(features):
        # a row already at the reference has nothing to substitute: most customers have no tickets or
        # visits, so only the few that differ are predicted again
        tried = ~(values[:, k] == reference[k]) & (~explained if not everyone else True)
        picked = np.flatnonzero(tried)
        if everyone and picked.size >= X.shape[0] // 2:
            work = (X.copy() if copy else X) if work is None else work
            lifts[:, k] = _substitute(training, X, churn, picked, index[name], reference[k], work)
        elif picked.size:
            lifts[picked, k] = _substitute(training, X, churn, rows[picked], index[name], reference[k], None)
        explained |= lifts[:, k] > 0
        if not everyone and explained.all():
            break
    return values, lifts


def _top(values: np.ndarray, lifts: np.ndarray, reference: np.ndarray, offset: int = 0) -> dict[str, np.ndarray]:
    """Per row the three largest contributions: the feature (its position in the tried list plus ``offset``),
    whether it raises the risk, the customer's value and its side of the reference (1 above, -1 below); with
    fewer than three features tried, the missing places never raise."""
    short = max(0, len(REASONS) - lifts.shape[1])
    lifts = np.pad(lifts, ((0, 0), (0, short)), constant_values=-np.inf)
    values = np.pad(values, ((0, 0), (0, short)), constant_values=np.nan)
    reference = np.pad(reference, (0, short), constant_values=np.nan)
    top = np.argsort(-lifts, axis=1, kind="stable")[:, : len(REASONS)]
    rows = np.arange(lifts.shape[0])[:, None]
    value = values[rows, top]
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore")
        side = np.where(value > reference[top], 1, np.where(value < reference[top], -1, 0)).astype(np.int8)
    return {"pick": top + offset, "raises": lifts[rows, top] > 0, "value": value, "side": side}


def reasons(training: Training, X: np.ndarray, churn: np.ndarray, limit: int, copy: bool = True) -> pl.DataFrame:
    """The top three reason texts per row of ``X`` (see the module doc); nulls where fewer apply.

    ``limit`` features are tried on every row, the further ones with positive importance on the rows none of
    those raised. ``copy=False`` (as in scikit-learn) lets the
    substitution work in ``X`` itself, one column at a time, each put back before the next: for a caller that
    owns ``X``; it is unchanged afterwards either way.
    """
    ranked = [i["feature"] for i in training.importances if i["importance"] > 0]
    if not ranked:
        return pl.DataFrame({r: pl.Series([None] * X.shape[0], dtype=pl.String) for r in REASONS})
    first, rest = ranked[:limit], ranked[limit:]
    reference = np.array([training.reference[n] for n in ranked])
    everyone = np.arange(X.shape[0])
    values, lifts = _contributions(training, X, churn, first, everyone, copy)
    top = _top(values, lifts, reference[: len(first)])
    unexplained = np.flatnonzero(~(lifts > 0).any(axis=1))
    if rest and unexplained.size:
        values, lifts = _contributions(training, X, churn, rest, unexplained, copy)
        later = _top(values, lifts, reference[len(first) :], offset=len(first))
        for part, array in top.items():  # those rows' reasons are all among the later features
            array[unexplained] = later[part]
    frame = pl.DataFrame(
        {f"{c}_{part}": array[:, rank] for part, array in top.items() for rank, c in enumerate(REASONS)}
    )
    picked = np.unique(top["pick"][top["raises"]]).tolist()
    texts = [
        pl.when(pl.col(f"{c}_raises")).then(_in_words(c, {j: ranked[j] for j in picked})).alias(c) for c in REASONS
    ]
    return frame.select(texts)


def _number(value: pl.Expr, decimals: int) -> pl.Expr:
    rounded = value.round(decimals)
    return (rounded.cast(pl.Int64) if decimals == 0 else rounded).cast(pl.String)


# a reason in words: prefix, the customer's value (rounded to the decimals, or as a percentage), suffix
WORDS: dict[str, tuple[str, str, int | str]] = {
    "days_since_last_order": ("no order for ", " days", 0),
    "last_gap_days": ("last gap between orders ", " days", 0),
    "mean_gap_days": ("usual gap between orders ", " days", 0),
    "tenure_days": ("customer for ", " days", 0),
    "n_orders": ("", " orders in all", 0),
    "frequency": ("", " repeat purchases", 0),
    "orders_recent": ("", " orders in the churn horizon", 0),
    "mean_order_value": ("average order ", "", 2),
    "total_spend": ("spent ", " in all", 2),
    "p_alive": ("probability still active ", "", "%"),
    "btyd_p_no_purchase": ("", " chance of no purchase in the horizon (purchase history)", "%"),
    "btyd_p_no_purchase_seen": ("", " chance of no purchase in the horizon (history and signs of life)", "%"),
    "btyd_p_no_purchase_if_alive": ("", " chance of no purchase even if still active", "%"),
    "expected_purchases": ("", " purchases expected in the horizon", 1),
    "tickets": ("", " support tickets", 0),
    "tickets_recent": ("", " recent support tickets", 0),
    "open_tickets": ("", " open support tickets", 0),
    "unanswered_tickets": ("", " unanswered support tickets", 0),
    "max_first_response_hours": ("waited up to ", " hours for a first answer", 0),
    "last_first_response_hours": ("waited ", " hours for the last first answer", 0),
    "days_since_last_ticket": ("last ticket ", " days ago", 0),
    "last_csat": ("last CSAT score ", "", 1),
    "min_csat": ("lowest CSAT score ", "", 1),
    "days_since_last_visit": ("no web visit for ", " days", 0),
    "sessions_recent": ("", " recent web visits", 0),
    "sessions_since_last_order": ("", " web visits since the last order", 0),
    "days_since_last_touch": ("no marketing contact for ", " days", 0),
    "days_since_last_engagement": ("no opened or clicked message for ", " days", 0),
}
_NPS = {1.0: "last NPS answer: promoter", 0.0: "last NPS answer: passive", -1.0: "last NPS answer: detractor"}


def _phrase(name: str, value: pl.Expr, side: pl.Expr) -> pl.Expr:
    if name == "last_nps_class":
        return value.replace_strict(_NPS, default=None, return_dtype=pl.String)
    if name not in WORDS:  # a feature without words of its own: its name, the customer's value and its side
        said = side.replace_strict({1: " high", -1: " low", 0: ""}, return_dtype=pl.String)
        return pl.concat_str([pl.lit(name.replace("_", " ")), said, pl.lit(" ("), _number(value, 2), pl.lit(")")])
    prefix, suffix, shown = WORDS[name]
    number = _number(value * 100, 0) + pl.lit("%") if shown == "%" else _number(value, int(shown))
    return pl.concat_str([pl.lit(prefix), number, pl.lit(suffix)])


def _in_words(column: str, names: dict[int, str]) -> pl.Expr:
    """The reason of ``column`` in words, from its picked feature (``names``: position -> feature, those any
    row picked), the customer's value and its side."""
    value, side, pick = pl.col(f"{column}_value"), pl.col(f"{column}_side"), pl.col(f"{column}_pick")
    missing = value.is_null() | value.is_nan()
    text = pl.lit(None, pl.String)
    for j, name in reversed(names.items()):
        # a missing value (no tickets, no visits tracked) reads as the feature being unknown
        said = (
            pl.when(missing)
            .then(pl.lit(f"{name.replace('_', ' ')} unknown"))
            .otherwise(_phrase(name, value, side))
        )
        text = pl.when(pick == j).then(said).otherwise(text)
    return text


def rank_percent(values: np.ndarray) -> np.ndarray:
    """Share of values at most each one, in percent (ties share the highest rank), in (0, 100]."""
    ranks = pl.Series(values).rank("max").to_numpy()
    return ranks / len(values) * 100.0


def score_churn(
    training: Training,
    inputs: ChurnInputs,
    as_of: dt.datetime,
    config: ChurnConfig,
    model_run_id: str,
    population: Population | None = None,
) -> pl.DataFrame:
    """Per customer with a kept order by ``as_of``: churn_probability, churn_percentile, reasons, features.

    Builds the features at ``as_of`` (with ``population``, `build_features`) and calls `score_features`.
    """
    features = build_features(inputs, as_of, config, training.channels, population)
    return score_features(training, features, config, model_run_id)


def score_features(
    training: Training, features: pl.DataFrame, config: ChurnConfig, model_run_id: str
) -> pl.DataFrame:
    """Churn scores of a `build_features` frame (see `score_churn`).

    Also carries n_orders, days_since_last_order and tenure_days (segment rules may use them) and
    btyd_p_no_purchase. ``churn_percentile`` is the share of scored customers, in
    percent, with a churn probability at most this one's (100 = most at risk).
    """
    X = matrix(features, training.features)
    churn = training.model.predict_proba(X)[:, 1]
    why = reasons(training, X, churn, config.reason_features, copy=False)  # X is this function's own
    return pl.concat(
        [
            features.select(
                "customer_key",
                pl.lit(model_run_id).alias("churn_model_run_id"),
                pl.Series("churn_probability", churn),
                pl.Series("churn_percentile", rank_percent(churn)),
                "n_orders",
                "days_since_last_order",
                "tenure_days",
                "btyd_p_no_purchase",
            ),
            why,
        ],
        how="horizontal",
    )
