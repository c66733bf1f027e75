"""Probabilistic CRM matching: planted duplicates, same-name strangers, tiny inputs, the synthetic truth."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from cxdata.identity import normalise
from cxdata.identity.probabilistic import Matches, match_customers

FIRST = ["María", "José", "Lucía", "Javier", "Ana", "David", "Marta", "Pablo", "Laura", "Sergio", "Elena", "Raúl"]
LAST = ["García", "López", "Martínez", "Sánchez", "Pérez", "Gómez", "Ruiz", "Díaz", "Moreno", "Muñoz", "Romero"]


def _crm(n: int = 300, seed: int = 11) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    first = pl.Series(FIRST).gather(rng.integers(0, len(FIRST), n))
    last = pl.Series(LAST).gather(rng.integers(0, len(LAST), n))
    frame = pl.DataFrame(
        {
            "customer_ref": [f"C{i:05d}" for i in range(n)],
            "first_name": first,
            "last_name": last,
            "postcode": rng.integers(10000, 99999, n).astype(str),
            "country": ["ES"] * n,
            "number": rng.permutation(n) + 10,
            "phone": (rng.permutation(n) + 600_000_000).astype(str),
        }
    )
    slug = lambda c: pl.col(c).str.to_lowercase().str.normalize("NFKD").str.replace_all(r"\p{M}", "")  # noqa: E731
    local = pl.concat_str([slug("first_name"), pl.lit("."), slug("last_name"), pl.col("number").cast(pl.String)])
    return frame.select(
        "customer_ref",
        pl.concat_str([local, pl.lit("@example.com")]).alias("email"),
        pl.concat_str([pl.lit("+34"), pl.col("phone")]).alias("phone"),
        "first_name",
        "last_name",
        "postcode",
        "country",
    )


def _planted(base: pl.DataFrame) -> tuple[pl.DataFrame, set[tuple[str, str]]]:
    """The base rows plus three CRM duplicates and two same-name strangers; returns the duplicate pairs."""
    rows = base.slice(0, 3).to_dicts()
    typo = {**rows[0], "customer_ref": "D00001", "first_name": f"  {rows[0]['first_name'].upper()} "}
    local, domain = rows[0]["email"].split("@")
    typo["email"] = f"{local[:3]}{local[4]}{local[3]}{local[5:]}@{domain}"  # two letters swapped
    tagged = {**rows[1], "customer_ref": "D00002", "phone": "+34699999999"}
    local, domain = rows[1]["email"].split("@")
    tagged["email"] = f"{local}+shop@{domain}"
    copy = {**rows[2], "customer_ref": "D00003", "email": None}
    strangers = [
        {**rows[0], "customer_ref": ref, "email": email, "phone": phone, "postcode": postcode}
        for ref, email, phone, postcode in [
            ("S00001", "mg.home@example.org", "+34688000001", "28013"),
            ("S00002", "garcia.m@example.net", "+34688000002", "28017"),
        ]
    ]
    extra = pl.DataFrame([typo, tagged, copy, *strangers], schema=base.schema)
    pairs = {(rows[0]["customer_ref"], "D00001"), (rows[1]["customer_ref"], "D00002")}
    pairs.add((rows[2]["customer_ref"], "D00003"))
    return pl.concat([base, extra]), {tuple(sorted(p)) for p in pairs}


def _pair_set(matches: Matches) -> set[tuple[str, str]]:
    return set(matches.pairs.select("customer_ref_l", "customer_ref_r").iter_rows())


def test_planted_duplicates_found_and_strangers_kept_apart() -> None:
    customers, planted = _planted(_crm())
    matches = match_customers(customers, threshold=0.95, seed=1)
    found = _pair_set(matches)
    assert planted <= found, (planted - found, matches.stats)
    assert not {p for p in found if "S00001" in p or "S00002" in p}
    assert matches.stats["skipped"] is None
    assert matches.stats["records"] == customers.height
    assert matches.stats["candidate_pairs"] >= len(found) > 0
    assert matches.stats["pairs"] == matches.pairs.height
    pairs = matches.pairs
    assert pairs.schema == pl.Schema(
        {
            "customer_ref_l": pl.String,
            "customer_ref_r": pl.String,
            "match_probability": pl.Float64,
            "match_weight": pl.Float64,
            "evidence": pl.String,
        }
    )
    assert (pairs["customer_ref_l"] < pairs["customer_ref_r"]).all()
    assert (pairs["match_probability"] >= 0.95).all()
    evidence = {
        (row[0], row[1]): row[2] for row in pairs.select("customer_ref_l", "customer_ref_r", "evidence").rows()
    }
    typo_pair = next(p for p in planted if "D00001" in p)
    tag_pair = next(p for p in planted if "D00002" in p)
    # the typo'd record shouts its first name with spaces: cleaning makes it exact
    assert "first_name exact" in evidence[typo_pair] and "email local part 1 edit" in evidence[typo_pair]
    assert "email exact" in evidence[tag_pair]  # the +tag is dropped before comparing
    json.dumps(matches.model)  # goes into run metadata
    assert matches.model["probability_two_random_records_match"] == matches.stats["prior"]


def test_deterministic_for_a_seed() -> None:
    customers, _ = _planted(_crm(seed=5))
    first, second = (match_customers(customers, 0.95, seed=7) for _ in range(2))
    assert first.pairs.equals(second.pairs)
    assert first.model == second.model


@pytest.mark.parametrize("n", [0, 1, 3])
def test_tiny_inputs_return_no_pairs_with_a_reason(n: int) -> None:
    matches = match_customers(_crm().head(n), threshold=0.95)
    assert matches.pairs.is_empty() and matches.pairs.columns[:2] == ["customer_ref_l", "customer_ref_r"]
    assert matches.stats["records"] == n
    assert "too few" in matches.stats["skipped"]


def test_synthetic_crm_duplicates(tmp_path) -> None:
    from cxdata.config import load_config
    from cxdata.io import load_table
    from cxdata.synth import SynthParams, generate_project

    project = generate_project(tmp_path, SynthParams(customers=3000, seed=3))
    raw = load_table(load_config(project.config_path), "customers").lazy()
    customers = raw.select(
        "customer_ref",
        normalise.email(pl.col("email")).alias("email"),
        normalise.phone(pl.col("phone"), "ES", ["ES", "FR", "DE", "GB"]).alias("phone"),
        "first_name",
        "last_name",
        "postcode",
        "country",
    ).collect()
    truth = (
        pl.read_parquet(project.truth_dir / "identity.parquet")
        .filter(pl.col("source_table") == "customers")
        .select(pl.col("record_id").alias("customer_ref"), "person_id")
    )
    true_pairs = (
        truth.join(truth, on="person_id", suffix="_r")
        .filter(pl.col("customer_ref") < pl.col("customer_ref_r"))
        .select(pl.col("customer_ref").alias("customer_ref_l"), "customer_ref_r")
    )
    matches = match_customers(customers, threshold=0.95, seed=0)
    correct = matches.pairs.join(true_pairs, on=["customer_ref_l", "customer_ref_r"], how="semi").height
    precision = correct / max(matches.pairs.height, 1)
    recall = correct / true_pairs.height
    print(
        f"\nsynthetic CRM: {true_pairs.height} duplicate pairs, {matches.pairs.height} found, "
        f"precision {precision:.3f}, recall {recall:.3f}, stats {matches.stats}"
    )
    assert true_pairs.height >= 30  # the generator's 2% duplicates; fewer would make the figures noise
    assert precision >= 0.99
    assert recall >= 0.9
