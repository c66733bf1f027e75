"""Attribution models on hand-built journeys with known answers, conservation of totals, and the bootstrap."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import polars as pl
import pytest

from cxdata.errors import CxdataError
from cxdata.touchpoints.attribution import (
    MODELS,
    attribute,
    bootstrap_attribution,
    markov_removal_effects,
    shapley_values,
)

END = dt.datetime(2024, 2, 1, tzinfo=dt.UTC)


def journeys_of(spec: list[tuple[list[str], bool, float, float]], days_apart: float = 7.0) -> pl.DataFrame:
    """Journey rows from (touchpoints, converted, revenue, clv): touches ``days_apart`` apart."""
    rows = []
    for jid, (touchpoints, converted, revenue, clv) in enumerate(spec):
        common = {
            "journey_id": jid,
            "converted": converted,
            "conversions": float(converted),
            "revenue": revenue if converted else 0.0,
            "clv": clv if converted else 0.0,
            "ordered_at": END if converted else None,
        }
        if not touchpoints:
            rows.append({**common, "step": 0, "touchpoint": None, "occurred_at": None})
        for step, touchpoint in enumerate(touchpoints):
            ago = dt.timedelta(days=days_apart * (len(touchpoints) - 1 - step))
            rows.append({**common, "step": step, "touchpoint": touchpoint, "occurred_at": END - ago})
    return pl.DataFrame(
        rows,
        schema={
            "journey_id": pl.Int64,
            "step": pl.Int64,
            "touchpoint": pl.String,
            "occurred_at": pl.Datetime("us", "UTC"),
            "converted": pl.Boolean,
            "conversions": pl.Float64,
            "revenue": pl.Float64,
            "clv": pl.Float64,
            "ordered_at": pl.Datetime("us", "UTC"),
        },
    )


def random_journeys(n: int, channels: int, seed: int) -> pl.DataFrame:
    """Random journeys: 1-6 touches over ``channels`` channels, some empty, about 40% converting."""
    rng = np.random.default_rng(seed)
    names = [f"ch{i:02d}" for i in range(channels)]
    spec = []
    for _ in range(n):  # a test fixture of a few hundred journeys, not library code
        length = int(rng.integers(0, 7))
        path = [names[i] for i in rng.integers(0, channels, length)]
        converted = bool(rng.random() < 0.4) or length == 0
        spec.append((path, converted, float(rng.gamma(2.0, 30.0)), float(rng.random() < 0.3) * 200.0))
    return journeys_of(spec, days_apart=3.0)


def credits(result: pl.DataFrame, model: str) -> dict[str | None, tuple[float, float, float]]:
    rows = result.filter(pl.col("model") == model)
    return {r["touchpoint"]: (r["conversions"], r["revenue"], r["clv"]) for r in rows.iter_rows(named=True)}


# fixture B: GA -> conv x2, GA -> null, Mail -> conv, GA -> Mail -> conv
FIXTURE_B = [
    (["GA"], True, 10.0, 0.0),
    (["GA"], True, 20.0, 0.0),
    (["GA"], False, 0.0, 0.0),
    (["Mail"], True, 30.0, 5.0),
    (["GA", "Mail"], True, 40.0, 0.0),
]


def test_markov_fixture_a_removal_effects_and_shares():
    paths = pl.DataFrame(
        {
            "path": [["C1", "C2", "C3"], ["C1"], ["C2", "C3"]],
            "conversions": [1.0, 0.0, 0.0],
            "nulls": [0.0, 1.0, 1.0],
        }
    )
    effects = markov_removal_effects(paths).sort("touchpoint")
    assert effects["touchpoint"].to_list() == ["C1", "C2", "C3"]
    assert effects["removal_effect"].to_list() == pytest.approx([0.5, 1.0, 1.0])
    assert effects["share"].to_list() == pytest.approx([0.2, 0.4, 0.4])
    assert effects["p_conversion"].to_list() == pytest.approx([1 / 3] * 3)


def test_markov_fixture_b_probability_effects_and_credit():
    paths = pl.DataFrame(
        {"path": [["GA"], ["Mail"], ["GA", "Mail"]], "conversions": [2.0, 1.0, 1.0], "nulls": [1.0, 0.0, 0.0]}
    )
    effects = markov_removal_effects(paths).sort("touchpoint")
    assert effects["p_conversion"][0] == pytest.approx(0.8)
    assert effects["removal_effect"].to_list() == pytest.approx([0.75, 0.5])
    result = attribute(journeys_of(FIXTURE_B), models=["markov"])
    got = credits(result, "markov")
    assert got["GA"][0] == pytest.approx(2.4)
    assert got["Mail"][0] == pytest.approx(1.6)
    # one share vector for every value: revenue 100 and clv 5 split 0.6 / 0.4
    assert got["GA"][1:] == pytest.approx((60.0, 3.0))
    assert got["Mail"][1:] == pytest.approx((40.0, 2.0))
    markov = result.filter(pl.col("touchpoint").is_not_null()).sort("touchpoint")
    assert markov["removal_effect"].to_list() == pytest.approx([0.75, 0.5])


def test_markov_repeats_and_row_splitting_change_nothing():
    plain = pl.DataFrame(
        {"path": [["A", "B"], ["B"], ["A"]], "conversions": [2.0, 1.0, 0.0], "nulls": [1.0, 2.0, 3.0]}
    )
    # self-loops only slow the chain down, and one path split over two rows is the same path
    repeated = pl.DataFrame(
        {
            "path": [["A", "A", "B", "B"], ["A", "B"], ["B", "B"], ["A", "A", "A"]],
            "conversions": [1.0, 1.0, 1.0, 0.0],
            "nulls": [0.0, 1.0, 2.0, 3.0],
        }
    )
    left, right = markov_removal_effects(plain), markov_removal_effects(repeated)
    assert left["removal_effect"].to_list() == pytest.approx(right["removal_effect"].to_list())
    assert left["p_conversion"][0] == pytest.approx(right["p_conversion"][0])


def test_shapley_values_of_the_textbook_game():
    f = frozenset
    game = {f("O"): 7, f("F"): 6, f("D"): 4, f("OF"): 15, f("OD"): 7, f("FD"): 9, f("OFD"): 19}
    phi = shapley_values(game)
    assert phi == pytest.approx({"O": 23 / 3, "F": 49 / 6, "D": 19 / 6})
    assert sum(phi.values()) == pytest.approx(19)  # efficiency


def test_shapley_enumeration_matches_brute_force_and_closed_form():
    journeys = random_journeys(300, channels=5, seed=3)
    exact = credits(attribute(journeys, models=["shapley"], shapley_exact_max=12), "shapley")
    closed = credits(attribute(journeys, models=["shapley"], shapley_exact_max=0), "shapley")
    # the game spelled out: v(S) = conversions of converting journeys whose touchpoint set lies within S
    sets = (
        journeys.filter(pl.col("converted") & pl.col("touchpoint").is_not_null())
        .group_by("journey_id")
        .agg(pl.col("touchpoint").unique(), pl.col("revenue").first())
    )
    channels = sorted(journeys["touchpoint"].drop_nulls().unique())
    journey_sets = [(frozenset(t), r) for t, r in sets.select("touchpoint", "revenue").iter_rows()]
    for column, index in (("conversions", 0), ("revenue", 1)):
        game = {
            frozenset(s): sum((1.0 if column == "conversions" else r) for t, r in journey_sets if t <= set(s))
            for k in range(1, len(channels) + 1)
            for s in itertools.combinations(channels, k)
        }
        brute = shapley_values(game)
        for channel in channels:
            assert exact[channel][index] == pytest.approx(brute[channel])
            assert closed[channel][index] == pytest.approx(brute[channel])


def test_heuristic_models_on_hand_built_paths():
    spec = [
        (["A", "B", "C"], True, 90.0, 30.0),
        (["B"], True, 10.0, 0.0),
        (["C", "A"], False, 0.0, 0.0),
    ]
    result = attribute(
        journeys_of(spec, days_apart=7.0), models=["first_touch", "last_touch", "linear", "time_decay"]
    )
    assert credits(result, "first_touch")["A"] == pytest.approx((1.0, 90.0, 30.0))
    assert credits(result, "first_touch")["B"] == pytest.approx((1.0, 10.0, 0.0))
    assert credits(result, "first_touch")["C"] == pytest.approx((0.0, 0.0, 0.0))
    assert credits(result, "last_touch")["C"] == pytest.approx((1.0, 90.0, 30.0))
    assert credits(result, "last_touch")["A"] == pytest.approx((0.0, 0.0, 0.0))
    assert credits(result, "linear")["B"] == pytest.approx((1 + 1 / 3, 40.0, 10.0))
    # touches 14, 7 and 0 days before the order with a 7-day half-life weigh 1/4, 1/2, 1 -> 1/7, 2/7, 4/7
    decay = credits(result, "time_decay")
    assert decay["A"] == pytest.approx((1 / 7, 90 / 7, 30 / 7))
    assert decay["B"] == pytest.approx((1 + 2 / 7, 10 + 180 / 7, 60 / 7))
    assert decay["C"] == pytest.approx((4 / 7, 360 / 7, 120 / 7))
    halved = credits(attribute(journeys_of(spec), models=["time_decay"], half_life_days=14.0), "time_decay")
    assert halved["A"][0] == pytest.approx(0.5 / (0.5 + 2**-0.5 + 1))


def test_every_model_conserves_the_totals():
    journeys = random_journeys(400, channels=6, seed=11)
    result = attribute(journeys)
    converting = journeys.unique("journey_id").filter(pl.col("converted"))
    totals = converting.select(pl.col("conversions", "revenue", "clv").sum()).row(0)
    empty = converting.filter(pl.col("touchpoint").is_null()).select(pl.col("conversions", "revenue", "clv").sum())
    assert set(result["model"].unique()) == set(MODELS)
    for model in MODELS:
        rows = result.filter(pl.col("model") == model)
        assert rows.select(pl.col("conversions", "revenue", "clv").sum()).row(0) == pytest.approx(totals)
        unattributed = rows.filter(pl.col("touchpoint").is_null())
        assert unattributed.select("conversions", "revenue", "clv").row(0) == pytest.approx(empty.row(0))
        assert rows["share"].sum() == pytest.approx(1.0)
        assert rows.filter(pl.col("touchpoint").is_not_null()).height == 6


def test_bootstrap_centres_on_the_point_estimate_and_is_seeded():
    journeys = random_journeys(600, channels=4, seed=5)
    for model in ("markov", "linear", "shapley", "time_decay"):
        point = attribute(journeys, models=[model]).filter(pl.col("touchpoint").is_not_null())
        boot = bootstrap_attribution(journeys, model=model, replicates=200, seed=1)
        assert boot["replicate"].n_unique() == 200
        means = boot.group_by("touchpoint").agg(pl.col("conversions", "revenue").mean())
        joined = point.join(means, on="touchpoint", suffix="_boot")
        assert joined.height == 4
        # replicate means within 3% of the point estimate (200 replicates, each a few % noisy)
        assert joined["conversions_boot"].to_numpy() == pytest.approx(joined["conversions"].to_numpy(), rel=0.03)
        assert joined["revenue_boot"].to_numpy() == pytest.approx(joined["revenue"].to_numpy(), rel=0.03)
        # and it varies: a bootstrap without spread would be a constant
        assert boot.group_by("touchpoint").agg(pl.col("conversions").std())["conversions"].min() > 0
    again = bootstrap_attribution(journeys, model="markov", replicates=20, seed=1)
    other = bootstrap_attribution(journeys, model="markov", replicates=20, seed=2)
    first = bootstrap_attribution(journeys, model="markov", replicates=20, seed=1)
    assert again.equals(first)
    assert not again.equals(other)


def test_bad_inputs_name_the_problem():
    with pytest.raises(CxdataError, match="missing column"):
        attribute(pl.DataFrame({"journey_id": [1]}))
    with pytest.raises(CxdataError, match="unknown attribution model"):
        attribute(journeys_of(FIXTURE_B), models=["u_shaped"])
    with pytest.raises(CxdataError, match="missing column"):
        markov_removal_effects(pl.DataFrame({"path": [["a"]]}))
