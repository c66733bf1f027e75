"""Incrementality of marketing touchpoints: extra orders after a contact over the same customer's own baseline.

Attribution credits every touch on a converting path, including touches that
would have been followed by the order anyway (brand search clicked by people
already on their way to buy). This module estimates what a touchpoint *adds*,
with a self-controlled event design:

- a *contact* is a touchpoint's first touch kind of a known customer after the
  customer's first order: ``sent`` where the touchpoint sends, else
  ``impression``, else ``click`` (search and affiliate contacts are clicks);
- its *response* is the orders in ``(t + gap, t + response_days]`` (for a
  clicked send or impression, until ``response_days`` after the click); its
  *baseline* the same customer's repeat-order rate over ``baseline_days``
  before the contact and ``baseline_days`` after the response window (one
  window each side, so a customer who is dying out or accelerating does not
  bias the baseline in one direction), times the response window's length;
- the estimate is the mean excess orders (response minus baseline) per
  contact, over contacts whose windows end by ``as_of`` (held-out time), times
  all the touchpoint's contacts; revenue is those orders times the mean order
  value of the contacted customers (an excess in revenue directly is far
  noisier: order amounts vary more than order counts).

Through a click or without one: a contact of a touchpoint that sends or shows
(email, ads) is *clicked* when the customer clicked that touchpoint within the
response window. The excess of clicked contacts is kept as it is. The others
(view-through lift) are compared with the same customer's orders in the equally
long window just *after* the response window instead of the baseline: ads reach
people while they are active, so that moment's neighbourhood, not the 56 days
around it, is the fair comparison (at 30,000 customers this removed most of the
80-90 orders of credit the no-effect ad campaigns got); and not the window just
before, because being reachable at the contact means not having dropped out at
an order before it, which thins the orders before the contact (customers drop
out at or after a purchase) while the orders after it are not thinned that way.
Comparing with the window before gave no-effect ad campaigns about 100 orders
of view-through credit at 30,000 customers (dev seed 11) and a false "invest";
the window after, about 30, which the shrinkage below sets to nearly zero. The
price: a view-through effect lasting longer than ``response_days`` is partly
counted as baseline. Their excess rests on many
contacts each carrying the Poisson spread of the customer's own orders, so at a
few thousand customers it is mostly noise (plus or minus 10-25 orders where the
clicked part is a few). It is shrunk toward zero by a positive-part James-Stein
(empirical Bayes) factor: the spread of the per-contact view-through effects
across touchpoints, less their bootstrap variances, against each touchpoint's
own variance. A large, well-measured view-through effect keeps a factor near
one; effects the data cannot tell from noise go to about zero. The factor is
reported (``view_through_shrinkage``).

Reverse causation: a click that comes minutes before an order may be caused by
the coming order (the customer searched the brand to buy). For touchpoints
whose contact *is* a click, a click followed by an order within
``session_minutes`` is therefore left out (it carries no evidence either way,
and captured clicks are most of a brand campaign's clicks: keeping them only
adds noise), the other clicks' orders in that session window are not counted
(``gap``), and the excess is divided by the share of response that arrives
after the session, estimated on the clicks of the touchpoints whose contacts the
company schedules (sends, impressions), where the contact cannot be caused by
the order. That share is an assumption shared across touchpoints; it is reported
with the estimate. ``response_days`` (3) was chosen on dev seeds 11, 5 and 21.

Intervals come from a Poisson bootstrap over customers (each customer's
contacts keep one weight per replicate, drawn from the customer's key:
`cxdata.touchpoints.resample`), so the same customers' orders are
never treated as independent; each replicate re-estimates the post-session
share and the view-through shrinkage. The survivor correction's MBG/NBD fit is
held fixed: refitting it on resampled customers moves the estimate by a small
fraction of the bootstrap's spread. The replicates are then widened to at least
the noise the estimator shows on placebo twins of the contacts
(`cxdata.touchpoints.placebo`, `calibrate`). This is an estimate under the
assumption that, without the contact, the customer's order rate in the response
window would equal the rate around it.

Survivor bias: a contact that shows the customer alive (the click of a search or
affiliate ad, which reaches only customers who still buy) selects a moment before
which every order was survived and after which the customer may still drop out,
so the windows around it under-state the rate right after it. For such contacts
the baseline divides out that thinning under the MBG/NBD population fitted on
the orders (`cxdata.touchpoints.survival`). A click on an email does not show
that: mail reaches subscribers who stopped buying, and they still open and click
it, so clicked sends are not corrected. The emails' clicked excess sets the
post-session share every click touchpoint is divided by: with email clicks
corrected too, a click counted for every send whose window it fell in and windows
ending three days after the send rather than the click, that share came out
0.457-0.485 against the generator's 0.5 (dev seeds 11, 5 and 21 at 30,000
customers); now 0.480-0.505. At 30,000 customers (dev seed 11) the correction
took brand search from 5,650 to 2,499 of estimated revenue (truth 1,631), generic
from 16,444 to 12,472 (13,272) and affiliate from 3,327 to 1,907 (1,149).
``alive_correction=False`` turns it off.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats

from cxdata.touchpoints.lift_shard import (
    LiftPartial,
    LiftSettings,
    LiftShape,
    lift_partial,
    lift_shape,
    survival_rows,
    touch_counts,
)
from cxdata.touchpoints.lift_sums import late_share, parts
from cxdata.touchpoints.placebo import placebo_summary


@dataclass
class LiftEstimate:
    """Per touchpoint: contacts, incremental orders and revenue (point), their bootstrap replicates, and the
    post-session response share that scaled click touchpoints."""

    # touchpoint, contacts, scored_contacts, view_through_shrinkage, contact_kind, incremental_orders and _revenue
    table: pl.DataFrame
    replicates: pl.DataFrame  # replicate, touchpoint, incremental_orders, incremental_revenue
    late_share: float
    placebo_sets: int = 0


def estimate_lift(
    orders: pl.LazyFrame,
    touches: pl.LazyFrame,
    as_of,
    *,
    granularity: str = "campaign",
    response_days: float = 3.0,
    baseline_days: float = 56.0,
    session_minutes: float = 60.0,
    replicates: int = 200,
    placebo_sets: int = 8,
    seed: int = 0,
    alive_correction: bool = True,
) -> LiftEstimate:
    """Incremental orders and revenue per marketing touchpoint from contacts up to ``as_of`` (module docstring).

    ``orders``: customer_key, ordered_at, amount (kept purchases); ``touches``: customer_key, occurred_at,
    channel, campaign, kind. All customers at once: the one-shard case of `cxdata.touchpoints.lift_shard`.
    """
    settings = LiftSettings(
        granularity,
        response_days,
        baseline_days,
        session_minutes,
        replicates,
        placebo_sets,
        seed,
        alive_correction,
    )
    orders = orders.filter(pl.col("ordered_at") <= as_of)
    frame = orders.select("customer_key", "ordered_at", "amount").collect()
    counts = touch_counts(touches, orders, as_of, granularity)
    shape = lift_shape(counts, survival_rows(orders, as_of), frame["ordered_at"].min(), as_of, settings)
    return lift_estimate(lift_partial(frame, touches, as_of, shape, settings), shape, settings)


def lift_estimate(partial: LiftPartial, shape: LiftShape, settings: LiftSettings) -> LiftEstimate:
    """The estimate from the summed partial of every customer (`cxdata.touchpoints.lift_shard`)."""
    k, replicates, placebo_sets = len(shape.names), settings.replicates, settings.placebo_sets
    if k == 0 or shape.origin is None:
        return _empty()
    names, by_click = shape.names, shape.by_click
    point = parts(partial.point)
    late = float(late_share(point["through_click"], partial.caught, np.flatnonzero(~by_click)))
    twins = {name: part.reshape(placebo_sets, k) for name, part in parts(partial.twins).items()}
    contacts_per = np.maximum(partial.eligible, 1.0)
    resampled = parts(partial.sums)
    # the noise of a view-through effect: what the twins show where nothing happened, or what resampling the
    # customers shows, whichever is larger (twins cannot show a survivor selection they do not share)
    noise = np.var(twins["without_click"] / contacts_per, axis=0, ddof=1) * shape.share
    if replicates > 1:
        noise = np.maximum(noise, np.var(resampled["without_click"] / contacts_per, axis=0))
    shrink = _shrinkage(point["without_click"] / contacts_per, noise)
    scale = np.where(by_click, 1.0 / late, 1.0)
    estimate = point["through_click"] * scale + shrink * point["without_click"]
    twin_orders = twins["through_click"] * scale + shrink * twins["without_click"]
    bias, spread = placebo_summary(twin_orders, shape.share)
    # the whole estimate again in every replicate: post-session share and view-through shrinkage too
    replicate_late = late_share(resampled["through_click"], partial.caught_reps, np.flatnonzero(~by_click))
    replicate_scale = np.where(by_click, 1.0 / replicate_late[:, None], 1.0)
    replicate_shrink = np.array(
        [_shrinkage(row / contacts_per, noise, resampled=True) for row in resampled["without_click"]]
    ).reshape(replicates, k)
    reps = resampled["through_click"] * replicate_scale + replicate_shrink * resampled["without_click"]
    values = resampled["value"]
    calibrated = calibrate(estimate, reps, spread, placebo_sets)
    seconds = (partial.last_us - partial.first_us).astype(np.int64) // 1_000_000
    table = (
        pl.DataFrame(
            {
                "touchpoint": names,
                "scored_contacts": partial.scored.astype(np.int64),
                "view_through_shrinkage": shrink,
                "incremental_orders": estimate,
                "incremental_revenue": estimate * point["value"],
                "placebo_bias_orders": bias,
                "placebo_sd_orders": spread,
                "placebo_bias": bias * point["value"],
                "placebo_sd": spread * point["value"],
                "bootstrap_sd_orders": reps.std(axis=0, ddof=1) if replicates > 1 else np.zeros(k),
                "contacts": pl.Series(partial.contacts.astype(np.int64), dtype=pl.UInt32),
                "contact_weeks": seconds / (7 * 86_400),
                "contact_kind": np.where(by_click, "click", "scheduled"),
            }
        )
        .join(shape.reach, on="touchpoint", maintain_order="left")
        .with_columns((pl.col("contacts") / pl.col("reach")).clip(upper_bound=1.0).alias("linked_share"))
        .drop("reach")
    )
    replicate_table = pl.DataFrame(
        {
            "replicate": np.repeat(np.arange(replicates), k),
            "touchpoint": names * replicates,
            "incremental_orders": calibrated.ravel(),
            "incremental_revenue": (calibrated * values).ravel(),
        }
    )
    return LiftEstimate(table, replicate_table, late, placebo_sets)


def calibrate(estimate: np.ndarray, reps: np.ndarray, spread: np.ndarray, sets: int) -> np.ndarray:
    """Replicates that follow a normal around ``estimate`` whose spread is the bootstrap's, or at least the
    placebo noise ``spread`` (plus the noise of measuring it on ``sets`` sets); each replicate keeps its rank,
    so a replicate that resampled customers with a high value stays high (its retention value is added to it).

    The bootstrap misses the noise of windows that happened to hold no orders (a few clicked contacts without
    an order resample to no noise at all), which the twins, at other moments of the same customers, do not.
    Its shape is not kept: re-estimating the view-through shrinkage in every replicate skews it away from
    zero, so its percentiles leave out the zero that a noise-sized view-through effect cannot rule out.
    """
    if reps.shape[0] == 0:
        return reps
    count = reps.shape[0]
    measured = reps.std(axis=0, ddof=1) if count > 1 else np.zeros_like(estimate)
    wanted = np.sqrt(np.maximum(measured**2, spread**2 * (1.0 + 1.0 / max(sets, 1))))
    scores = stats.norm.ppf((np.arange(count) + 0.5) / count)
    return estimate + scores[np.argsort(np.argsort(reps, axis=0, kind="stable"), axis=0)] * wanted


def _shrinkage(effect: np.ndarray, noise: np.ndarray, resampled: bool = False) -> np.ndarray:
    """Empirical-Bayes (positive-part James-Stein) factor for each touchpoint's per-contact effect without a
    click, given the variance of that effect where nothing happened (``noise``, from the placebo twins).

    View-through lift is real in principle but rests on many contacts, so its noise (plus or minus the Poisson
    spread of every contacted customer's orders in the response window) can swamp what a few clicks did; the
    per-contact effects are shrunk toward zero by their noise against the spread of the effects across
    touchpoints, which is the data's own evidence of how large view-through effects are. A bootstrap
    replicate's effects carry the noise twice (the data's and the resampling's), so ``resampled`` takes it
    out twice: the replicate's factor then varies around the estimate's instead of above it.
    """
    has = noise > 0
    if not has.any():
        return np.ones_like(effect)
    layers = 2.0 if resampled else 1.0
    tau2 = max(float(np.mean(effect[has] ** 2 - layers * noise[has])), 0.0)
    return np.where(has, tau2 / np.maximum(tau2 + noise, 1e-300), 1.0)


def _empty() -> LiftEstimate:
    table = pl.DataFrame(
        schema={
            "touchpoint": pl.String,
            "scored_contacts": pl.Int64,
            "view_through_shrinkage": pl.Float64,
            "incremental_orders": pl.Float64,
            "incremental_revenue": pl.Float64,
            "placebo_bias_orders": pl.Float64,
            "placebo_sd_orders": pl.Float64,
            "placebo_bias": pl.Float64,
            "placebo_sd": pl.Float64,
            "bootstrap_sd_orders": pl.Float64,
            "contacts": pl.UInt32,
            "contact_weeks": pl.Float64,
            "contact_kind": pl.String,
            "linked_share": pl.Float64,
        }
    )
    replicates = pl.DataFrame(
        schema={
            "replicate": pl.Int64,
            "touchpoint": pl.String,
            "incremental_orders": pl.Float64,
            "incremental_revenue": pl.Float64,
        }
    )
    return LiftEstimate(table, replicates, 1.0, 0)
