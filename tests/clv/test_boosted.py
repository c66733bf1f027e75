"""The boosted expected-purchases candidate: a planted effect BTYD cannot see, its place in the evaluation
and the step, and its plan of windows and cutoffs.

The planted project: purchases follow Pareto/NBD exactly (Gamma purchase rates, exponential lifetimes), so
BTYD is the right model of the orders alone. Alive customers also visit the web shop, dead ones never: a
visit after the last order proves the customer alive, which only the boosted model's features
(sessions_since_last_order, days_since_last_visit) show. So the boosted model must predict more holdout
purchases than BTYD for customers seen after a long silence, as many as they make, and beat BTYD per
customer.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cxdata.churn.features import ChurnInputs
from cxdata.clv import boosted
from cxdata.clv.evaluate import evaluate
from cxdata.clv.step import clv_step
from cxdata.config import ClvConfig, ProjectConfig
from cxdata.run_context import RunContext
from cxdata.warehouse import Warehouse

START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
AS_OF = dt.datetime(2025, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
DAYS = (AS_OF - START).days + 1


def _events(rng: np.random.Generator, start: np.ndarray, end: np.ndarray, rate: np.ndarray) -> tuple:
    """Poisson event times in (start, end) per customer, as (customer index, day)."""
    counts = rng.poisson(rate * np.clip(end - start, 0, None))
    who = np.repeat(np.arange(start.size), counts)
    return who, start[who] + rng.random(who.size) * (end - start)[who]


def planted(customers: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Orders and web sessions of the planted project (module doc); days from START, nothing after AS_OF."""
    rng = np.random.default_rng(seed)
    birth = rng.uniform(0, DAYS - 200, customers)
    death = np.minimum(birth + rng.exponential(200.0, customers), DAYS)
    rate = rng.gamma(1.5, 1 / 45, customers)
    who, day = _events(rng, birth, death, rate)
    visitor, visit = _events(rng, birth, death, np.full(customers, 1 / 12))
    who, day = np.concatenate([np.arange(customers), who]), np.concatenate([birth, day])

    def moment(days: np.ndarray) -> pl.Series:
        return pl.Series((days * 86_400_000_000).astype(np.int64)).cast(pl.Duration("us")) + START

    keys = np.char.add("c", np.arange(customers).astype(str))
    orders = pl.DataFrame({"customer_key": keys[who], "amount": rng.gamma(4.0, 10.0, who.size)}).with_columns(
        moment(day).alias("ordered_at")
    )
    sessions = pl.DataFrame(
        {"customer_key": keys[visitor], "page_views": rng.integers(1, 9, visitor.size), "converted": False}
    ).with_columns(moment(visit).alias("started_at"))
    return orders.select("customer_key", "ordered_at", "amount"), sessions


@pytest.fixture(scope="module")
def project() -> tuple[pl.DataFrame, pl.DataFrame]:
    return planted(6000, seed=3)


def _config(penalizers: tuple[float, ...] = (0.0, 0.01), **boost) -> ClvConfig:
    return ClvConfig(penalizers=list(penalizers), boosted=ClvConfig().boosted.model_copy(update=boost))


def test_boosted_recovers_a_sign_of_life_btyd_cannot_see(project):
    orders, sessions = project
    inputs = ChurnInputs(orders=orders.lazy(), sessions=sessions.lazy())
    evaluation = evaluate(orders.lazy(), _config((0.01,)), AS_OF, inputs=inputs, plots=False)
    blind = evaluate(orders.lazy(), _config((0.01,)), AS_OF, plots=False)  # the same, orders only
    assert evaluation.failed is None and blind.failed is None, (evaluation.failed, blind.failed)
    btyd = [c for c in evaluation.candidates if c["model"] != boosted.MODEL_NAME]
    mine = next(c for c in evaluation.candidates if c["model"] == boosted.MODEL_NAME)
    without = next(c for c in blind.candidates if c["model"] == boosted.MODEL_NAME)
    best_btyd = min(c["poisson_deviance"] for c in btyd)
    print(f"\nboosted {mine}\nwithout sessions {without['poisson_deviance']:.4f}, best BTYD {best_btyd:.4f}")
    assert mine["params"]["window_days"] == 180 and len(mine["params"]["cutoffs"]) == 6
    assert {"sessions_since_last_order", "days_since_last_visit"} <= set(mine["params"]["features"])
    # the visits are what it recovers: clearly better per customer than on the orders alone, and than BTYD
    assert mine["poisson_deviance"] < 0.9 * without["poisson_deviance"]
    assert mine["poisson_deviance"] < 0.9 * best_btyd
    assert mine["mae"] < min(c["mae"] for c in btyd)
    assert abs(mine["aggregate_error"]) < 0.05
    assert mine.get("chosen") and evaluation.boost is not None


def test_the_planted_customers_get_the_purchases_they_make(project):
    orders, sessions = project
    config = _config()
    calibration_end = AS_OF - dt.timedelta(days=config.holdout_days)
    inputs = ChurnInputs(orders=orders.lazy(), sessions=sessions.lazy())
    plan = boosted.plan(orders["ordered_at"].min(), calibration_end, AS_OF, config)
    fit = boosted.fit_boosted(inputs, config, plan.evaluation, plan.window_days, [])
    frame = boosted.labelled(inputs, calibration_end, plan.window_days, config, [])
    frame = frame.join(fit.predict(inputs, calibration_end, config), on="customer_key")
    # silent for 60+ days: BTYD holds many of them dead; a visit within the last 30 days says alive (alive
    # customers visit every 12 days on average), none says dead
    silent = frame.filter(pl.col("days_since_last_order") > 60)
    groups = silent.group_by((pl.col("days_since_last_visit") <= 30).fill_null(False).alias("seen")).agg(
        pl.col("window_purchases", "boosted_purchases", "expected_purchases").mean(), pl.len()
    )
    seen = groups.filter(pl.col("seen")).row(0, named=True)
    unseen = groups.filter(~pl.col("seen")).row(0, named=True)
    print(f"\nseen in the last 30 days: {seen}\nnot seen: {unseen}")
    assert seen["len"] >= 100 and unseen["len"] >= 100
    # BTYD (expected_purchases: BG/NBD at the cutoff) misses the seen customers' purchases by far, and
    # expects purchases of the unseen ones who make none
    assert seen["expected_purchases"] < 0.75 * seen["window_purchases"]
    assert unseen["expected_purchases"] > unseen["window_purchases"] + 0.1
    assert seen["boosted_purchases"] == pytest.approx(seen["window_purchases"], rel=0.2)
    assert unseen["boosted_purchases"] == pytest.approx(unseen["window_purchases"], abs=0.05)


def test_step_scores_with_the_boosted_model_in_the_same_columns(tmp_path):
    orders, sessions = planted(3000, seed=4)
    config = ProjectConfig(name="planted", warehouse="duckdb:///unused.duckdb", sources={"orders": {"path": "x"}})
    runs = {}
    for label, clv in {"btyd": _config((0.01,), enabled=False), "boosted": _config((0.01,))}.items():
        config = config.model_copy(update={"models": config.models.model_copy(update={"clv": clv})})
        with Warehouse(f"duckdb:///{tmp_path / label}.duckdb") as wh:
            wh.publish("fct_orders", orders.with_columns(pl.lit(False).alias("is_refund")))
            wh.publish("fct_web_sessions", sessions)
            report = clv_step(wh, config, RunContext(label, AS_OF, AS_OF))
            runs[label] = (report, wh.read("customer_scores"), wh.read("model_runs").row(0, named=True))
            # a second run at the same moment scores with the stored fit (boosted model included), as the fit did
            again = clv_step(wh, config, RunContext(f"{label}2", AS_OF, AS_OF + dt.timedelta(hours=1)))
            assert (again.mode, again.fitted_run_id) == ("score", f"{label}/clv"), again.mode_reason
            assert_frame_equal(
                wh.read("customer_scores").drop("model_run_id"), runs[label][1].drop("model_run_id"),
                check_exact=False, rel_tol=0, abs_tol=1e-9,
            )  # fmt: skip
    (btyd, btyd_scores, _), (mine, scores, run) = runs["btyd"], runs["boosted"]
    assert btyd.failed is None and mine.failed is None, (btyd.failed, mine.failed)
    assert mine.model == run["model"] == boosted.MODEL_NAME and btyd.model != boosted.MODEL_NAME
    assert scores.columns == btyd_scores.columns and scores.height == btyd_scores.height
    params = json.loads(run["params_json"])
    assert params["base_model"] in {"bgnbd", "pareto_nbd", "mbgnbd"} and params["fit_seconds"] > 0
    assert params["cutoffs"][0] == (AS_OF - dt.timedelta(days=180)).isoformat()
    assert scores["p_alive"].is_between(0, 1).all() and (scores["clv"] >= 0).all()
    # the same customers, P(alive) from the same kind of model; the purchases differ where the visits do
    both = scores.join(btyd_scores, on="customer_key", suffix="_btyd")
    assert both.height == scores.height
    assert (both["expected_purchases"] - both["expected_purchases_btyd"]).abs().max() > 0.1


@pytest.mark.parametrize(
    ("first", "calibration_end", "window", "evaluation"),
    [
        # long history: the holdout's 180 days, six cutoffs 30 days apart ending 180 days before the split
        ("2020-01-01", "2025-07-04", 180, 6),
        # CDNOW: 272 days before the split, 90 of them history, three cutoffs: the window shrinks to 122
        ("1997-01-01", "1997-09-30", 122, 3),
    ],
)
def test_plan_shortens_the_window_to_fit_the_history(first, calibration_end, window, evaluation):
    config = ClvConfig(holdout_days=180)
    first_order = dt.datetime.fromisoformat(first).replace(tzinfo=dt.UTC)
    split = dt.datetime.fromisoformat(calibration_end).replace(tzinfo=dt.UTC)
    plan = boosted.plan(first_order, split, split + dt.timedelta(days=180), config)
    assert plan.window_days == window and len(plan.evaluation) == evaluation
    earliest = first_order + dt.timedelta(days=config.boosted.min_history_days)
    assert all(c + dt.timedelta(days=window) <= split and c >= earliest for c in plan.evaluation)
    assert all(c + dt.timedelta(days=window) <= split + dt.timedelta(days=180) for c in plan.final)
    with pytest.raises(boosted.NoPlan):
        boosted.plan(first_order, first_order + dt.timedelta(days=150), split, config)


def test_a_capped_fit_builds_features_for_a_seeded_sample_of_customers(project):
    orders, sessions = project
    config = _config(max_train_rows=6000)
    calibration_end = AS_OF - dt.timedelta(days=config.holdout_days)
    inputs = ChurnInputs(orders=orders.lazy(), sessions=sessions.lazy())
    plan = boosted.plan(orders["ordered_at"].min(), calibration_end, AS_OF, config)
    fits = [boosted.fit_boosted(inputs, config, plan.evaluation, plan.window_days, []) for _ in range(2)]
    # 6,000 customers at 6 cutoffs would stack 30,000+ rows: 1,000 customers are kept, at every cutoff
    assert 0 < fits[0].training_rows <= 6000 and len(plan.evaluation) == 6
    same = [{k: v for k, v in fit.params().items() if k != "fit_seconds"} for fit in fits]
    assert same[0] == same[1]  # the same seeded sample and trees
    scored = fits[0].predict(inputs, calibration_end, config)  # and it still predicts for everybody
    assert scored.height == orders.filter(pl.col("ordered_at") <= calibration_end)["customer_key"].n_unique()
