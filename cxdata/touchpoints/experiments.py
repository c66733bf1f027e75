"""Randomised holdouts: how a customer is assigned to a campaign's treatment or control group, and how the
experiments whose response window has passed are read.

Assignment is a keyed hash, so it needs no stored state to be reproducible:
``u = blake2b(campaign \\x1f customer_key, key=salt)`` read as a number in [0, 1), and the customer is
control when ``u < share``. The same salt, campaign and customer always give the same group; another salt
gives independent groups. ``salt_id`` fingerprints the salt (a keyed hash with a fixed message, so the salt
cannot be recovered from it) and is stored beside each assignment, so a rotated salt is visible.

Reading compares every assigned customer of a campaign, treated or not, over the same window after their
assignment: the difference is the intention-to-treat effect of being assigned to treatment (whether or not
the send reached them), which the random assignment makes unbiased without any model.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
import polars as pl

from cxdata.touchpoints.order_index import DAY_US

TREATMENT, CONTROL = "treatment", "control"
GROUPS = (TREATMENT, CONTROL)
SALT_ID_LENGTH = 12
_SALT_ID_MESSAGE = b"cxdata experiment salt id"
# the three outcomes read per customer, and the output name of each
OUTCOMES = {"orders": "orders", "revenue": "revenue", "retained": "retention"}


def salt_id(salt: str) -> str:
    """A short fingerprint of ``salt`` from which the salt cannot be recovered: equal salts, equal ids."""
    digest = hashlib.blake2b(_SALT_ID_MESSAGE, key=_key(salt), digest_size=16).hexdigest()
    return digest[:SALT_ID_LENGTH]


def _key(salt: str) -> bytes:
    raw = salt.encode("utf-8")
    # blake2b keys are at most 64 bytes: a longer salt is hashed down rather than cut, so all of it counts
    return raw if len(raw) <= 64 else hashlib.blake2b(raw).digest()


def assignment_draws(customer_keys: pl.Series, campaign: str, salt: str) -> pl.Series:
    """Each customer's uniform draw in [0, 1) for ``campaign`` under ``salt``; control when below the share."""
    key, prefix = _key(salt), campaign.encode("utf-8") + b"\x1f"
    # no vectorised keyed hash exists in polars or numpy; blake2b costs about a microsecond a key, and only
    # customers not yet assigned are drawn. 53 bits of the digest make a double that is always below 1.
    draws = [
        (int.from_bytes(hashlib.blake2b(prefix + value.encode("utf-8"), key=key, digest_size=8).digest()) >> 11)
        * 2.0**-53
        for value in customer_keys.cast(pl.String).to_list()
    ]
    return pl.Series("draw", draws, dtype=pl.Float64)


def assign(customer_keys: pl.Series, campaign: str, share: float, salt: str) -> pl.Series:
    """The group ("treatment" or "control") of each customer of ``campaign`` with a control ``share``."""
    draws = assignment_draws(customer_keys, campaign, salt)
    return (
        pl.select(pl.when(draws < share).then(pl.lit(CONTROL)).otherwise(pl.lit(TREATMENT)).alias("group"))
        .to_series()
        .alias("group")
    )


def first_assignments(assignments: pl.LazyFrame) -> pl.LazyFrame:
    """One row per campaign and customer: the first assignment recorded (a customer keeps the group)."""
    return assignments.sort("assigned_at").group_by("campaign", "customer_key", maintain_order=True).first()


def read_experiments(
    assignments: pl.LazyFrame,
    orders: pl.LazyFrame,
    as_of: dt.datetime,
    *,
    response_days: float,
    churn_days: int,
    interval: float,
) -> pl.DataFrame:
    """Every campaign with customers whose response window has passed (assigned_at + response_days <= as_of):
    the intention-to-treat effect per assigned customer of being assigned to treatment, on orders, revenue
    and retention, with ``interval`` intervals, and the totals it implies for the treated group.

    ``assignments`` holds experiment_assignments rows (campaign as "channel/campaign", customer_key, group,
    share, assigned_at); a customer counts with the first assignment recorded. ``orders`` holds kept
    purchases (customer_key, ordered_at, amount). A customer's outcomes are the orders and revenue from
    assigned_at to assigned_at + response_days, and retention is whether they ordered within churn_days after
    assigned_at, read only over customers whose churn window has passed (null when none has). Customers are
    compared within each recorded share and the strata weighted by their size (a share changed between
    exports would otherwise mix periods with different treated fractions). The interval is a t interval
    (Welch-Satterthwaite degrees of freedom) from the two groups' sample variances, the control group's taken
    as the larger of the two: never narrower than Welch's, it keeps its coverage on heavy-tailed revenue with
    small control groups.

    Columns: touchpoint, treated_customers, control_customers, holdout_share (control share of the
    customers read), first_assigned_at, last_assigned_at; per outcome (orders, revenue, retention):
    treated_<o>, control_<o> (per customer), <o>_effect, <o>_effect_low, <o>_effect_high; retention_customers;
    incremental_orders, incremental_orders_low, incremental_orders_high, incremental_revenue,
    incremental_revenue_low, incremental_revenue_high (the effect per customer times treated_customers);
    response_days, as_of. Effects are null when a group has fewer than two customers.
    """
    cells = experiment_cells(assignments, orders, as_of, response_days=response_days, churn_days=churn_days)
    return experiment_effects(cells, as_of, response_days=response_days, interval=interval)


def experiment_cells(
    assignments: pl.LazyFrame, orders: pl.LazyFrame, as_of: dt.datetime, *, response_days: float, churn_days: int
) -> pl.DataFrame:
    """Per campaign, share and group of some customers (a shard's, or all): the customers, the first and last
    assignment, and per outcome its count, mean and sum of squared deviations (``<outcome>_m2``)."""
    response_us = round(response_days * DAY_US)
    churn_us = int(churn_days) * DAY_US
    cutoff = pl.lit(as_of).cast(pl.Datetime("us", "UTC"))
    assigned = (
        first_assignments(
            assignments.select(
                "campaign",
                pl.col("customer_key").cast(pl.String),
                "group",
                pl.col("share").cast(pl.Float64),
                pl.col("assigned_at").cast(pl.Datetime("us", "UTC")),
            )
        )
        .filter(pl.col("assigned_at") + pl.duration(microseconds=response_us) <= cutoff)
        .with_columns(
            (pl.col("assigned_at") + pl.duration(microseconds=churn_us) <= cutoff).alias("churn_window_passed")
        )
    )
    kept = orders.select(
        pl.col("customer_key").cast(pl.String),
        pl.col("ordered_at").cast(pl.Datetime("us", "UTC")),
        pl.col("amount").cast(pl.Float64),
    ).filter(pl.col("ordered_at") <= cutoff)
    since = (pl.col("ordered_at") - pl.col("assigned_at")).dt.total_microseconds()
    in_response = (since >= 0) & (since < response_us)
    outcomes = (
        assigned.join(kept, on="customer_key", how="left")
        .group_by("campaign", "customer_key")
        .agg(
            pl.col("group", "share", "assigned_at", "churn_window_passed").first(),
            in_response.sum().cast(pl.Float64).alias("orders"),
            pl.col("amount").filter(in_response).sum().alias("revenue"),
            ((since >= 0) & (since <= churn_us)).any().cast(pl.Float64).alias("retained"),
        )
        .with_columns(pl.when(pl.col("churn_window_passed")).then(pl.col("retained")).alias("retained"))
    )
    cells = outcomes.group_by("campaign", "share", "group").agg(
        pl.len().alias("n"),
        pl.col("assigned_at").min().alias("first"),
        pl.col("assigned_at").max().alias("last"),
        *(pl.col(name).count().alias(f"{name}_n") for name in OUTCOMES),
        *(pl.col(name).mean().alias(f"{name}_mean") for name in OUTCOMES),
        *(
            (pl.col(name).var(ddof=1).fill_null(0.0) * (pl.col(name).count() - 1)).alias(f"{name}_m2")
            for name in OUTCOMES
        ),
    )
    return cells.collect()


def experiment_effects(
    cells: pl.DataFrame, as_of: dt.datetime, *, response_days: float, interval: float
) -> pl.DataFrame:
    """The experiments' table (`read_experiments`) from the cells of every shard of the customers: per
    campaign, share and group, the customers, first and last assignment and per outcome its count, mean and
    sum of squared deviations, combined by the pairwise rule (Chan et al.)."""
    return _effects(combine_cells(cells), interval).with_columns(
        pl.lit(float(response_days)).alias("response_days"),
        pl.lit(as_of).cast(pl.Datetime("us", "UTC")).alias("as_of"),
    )


def combine_cells(cells: pl.DataFrame) -> pl.DataFrame:
    """The cells of disjoint customer sets as the cells of their union, with each outcome's variance."""
    index = ["campaign", "share", "group"]
    count = {name: pl.col(f"{name}_n").sum() for name in OUTCOMES}
    weighted = {name: (pl.col(f"{name}_n") * pl.col(f"{name}_mean").fill_null(0.0)) for name in OUTCOMES}
    merged = cells.group_by(index).agg(
        pl.col("n").sum(),
        pl.col("first").min(),
        pl.col("last").max(),
        *(count[name] for name in OUTCOMES),
        *((weighted[name].sum() / count[name]).alias(f"{name}_mean") for name in OUTCOMES),
    )
    spread = cells.join(
        merged.select(*index, *(pl.col(f"{n}_mean").alias(f"{n}_all") for n in OUTCOMES)), on=index
    )
    deviation = spread.group_by(index).agg(
        (
            pl.col(f"{name}_m2").sum()
            + (pl.col(f"{name}_n") * (pl.col(f"{name}_mean").fill_null(0.0) - pl.col(f"{name}_all")) ** 2)
            .filter(pl.col(f"{name}_n") > 0)
            .sum()
        ).alias(f"{name}_m2")
        for name in OUTCOMES
    )
    return merged.join(deviation, on=index).with_columns(
        pl.when(pl.col(f"{name}_n") >= 2)
        .then(pl.col(f"{name}_m2") / (pl.col(f"{name}_n") - 1))
        .alias(f"{name}_var")
        for name in OUTCOMES
    )


def _effects(cells: pl.DataFrame, interval: float) -> pl.DataFrame:
    """Per campaign, the share-stratified difference of group means of every outcome, with its variance."""
    index = ["campaign", "share"]
    treated = cells.filter(pl.col("group") == TREATMENT).drop("group")
    control = cells.filter(pl.col("group") == CONTROL).drop("group")
    strata = treated.join(control, on=index, how="full", coalesce=True, suffix="_c")
    parts: list[pl.Expr] = []
    for name in OUTCOMES:
        n_t, n_c = pl.col(f"{name}_n").fill_null(0), pl.col(f"{name}_n_c").fill_null(0)
        usable = (n_t >= 2) & (n_c >= 2)
        size = pl.when(usable).then(n_t + n_c).otherwise(0)
        weight = size / size.sum().over("campaign")
        var_t = weight**2 * pl.col(f"{name}_var") / n_t
        # the control term takes the larger of the two groups' variances: randomisation makes the groups'
        # untreated outcomes alike, and a small control group often lacks the rare big spenders that the
        # treated group's larger sample shows, which would leave the interval too narrow (never narrower
        # than Welch's)
        var_c = weight**2 * pl.max_horizontal(pl.col(f"{name}_var_c"), pl.col(f"{name}_var")) / n_c
        parts += [
            pl.when(usable).then(weight * pl.col(f"{name}_mean")).alias(f"{name}_t"),
            pl.when(usable).then(weight * pl.col(f"{name}_mean_c")).alias(f"{name}_c"),
            pl.when(usable).then(var_t + var_c).alias(f"{name}_v"),
            # the Welch-Satterthwaite denominator, over every stratum and group
            pl.when(usable).then(var_t**2 / (n_t - 1) + var_c**2 / (n_c - 1)).alias(f"{name}_w"),
            size.alias(f"{name}_customers"),
        ]
    sums = [f"{name}_{part}" for name in OUTCOMES for part in ("t", "c", "v", "w")]
    summed = (
        strata.with_columns(parts)
        .group_by("campaign")
        .agg(
            pl.col("n").sum().alias("treated_customers"),
            pl.col("n_c").sum().alias("control_customers"),
            pl.min_horizontal(pl.col("first").min(), pl.col("first_c").min()).alias("first_assigned_at"),
            pl.max_horizontal(pl.col("last").max(), pl.col("last_c").max()).alias("last_assigned_at"),
            *(pl.col(f"{name}_customers").sum() for name in OUTCOMES),
            *(pl.col(column).sum() for column in sums),
        )
        # a sum over no usable stratum is no estimate, not zero
        .with_columns(
            pl.when(pl.col(f"{column.rsplit('_', 1)[0]}_customers") > 0).then(pl.col(column)).alias(column)
            for column in sums
        )
    )
    return _intervals(summed, interval).sort("touchpoint")


def _intervals(summed: pl.DataFrame, interval: float) -> pl.DataFrame:
    """t intervals of each outcome's difference, and the treated-group totals of orders and revenue."""
    # imported here: scipy.stats takes a second to import, and assigning groups (exports, syncs) needs none of it
    from scipy import stats

    quantiles = []
    for name in OUTCOMES:
        variance, denominator = summed[f"{name}_v"].to_numpy(), summed[f"{name}_w"].to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            df = np.where(denominator > 0, variance**2 / denominator, np.inf)
        quantiles.append(pl.Series(f"{name}_q", stats.t.ppf(0.5 + interval / 2, np.maximum(df, 1.0))))
    frame = summed.with_columns(quantiles)
    treated = pl.col("treated_customers")
    columns: list[pl.Expr] = []
    for name, out in OUTCOMES.items():
        effect = pl.col(f"{name}_t") - pl.col(f"{name}_c")
        half = pl.col(f"{name}_q") * pl.col(f"{name}_v").sqrt()
        columns += [
            pl.col(f"{name}_t").alias(f"treated_{out}"),
            pl.col(f"{name}_c").alias(f"control_{out}"),
            effect.alias(f"{out}_effect"),
            (effect - half).alias(f"{out}_effect_low"),
            (effect + half).alias(f"{out}_effect_high"),
        ]
    table = frame.select(
        pl.col("campaign").alias("touchpoint"),
        treated,
        "control_customers",
        (pl.col("control_customers") / (treated + pl.col("control_customers"))).alias("holdout_share"),
        "first_assigned_at",
        "last_assigned_at",
        *columns,
        pl.col("retained_customers").alias("retention_customers"),
    )
    return table.with_columns(
        (pl.col(f"{out}_effect{end}") * treated).alias(f"incremental_{out}{end}")
        for out in ("orders", "revenue")
        for end in ("", "_low", "_high")
    )
