"""The vectorised phone reading must agree with phonenumbers itself, value by value."""

from __future__ import annotations

import numpy as np
import phonenumbers
import polars as pl
import pytest

from cxdata.identity import normalise, phone, phones
from cxdata.synth import SynthParams
from cxdata.synth.people import make_people
from cxdata.synth.timeline import Timeline

# Regions whose example numbers seed near-valid numbers of every type: the configured
# ones and the other regions sharing their country codes (+44, +39, +1).
EXAMPLE_REGIONS = ("ES", "FR", "DE", "GB", "US", "IT", "NL", "GG", "JE", "IM", "VA", "CA", "PR")


def _digits(rng: np.random.Generator, n: int) -> str:
    return "".join(map(str, rng.integers(0, 10, n)))


def _realistic(seed: int) -> list[str]:
    """Every rendering the generator makes (E.164, spaced, national, 00-prefixed) plus its placeholders."""
    params = SynthParams(customers=6000, seed=seed)
    people = make_people(params, Timeline.of(params), np.random.default_rng(seed))
    return people.phones.to_list() + list(params.phone_placeholders)


def _random(rng: np.random.Generator, n: int) -> list[str]:
    prefixes = rng.choice(["", "+", "00", "0"], n)
    return [str(p) + _digits(rng, int(k)) for p, k in zip(prefixes, rng.integers(5, 17, n), strict=True)]


def _near_examples(rng: np.random.Generator, per_type: int) -> list[str]:
    """Example numbers of every type with random tails, in international, national and odd forms."""
    out = []
    for region in EXAMPLE_REGIONS:
        for kind in range(12):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            nsn, cc = phonenumbers.national_significant_number(example), example.country_code
            for _ in range(per_type):
                tail = int(rng.integers(1, min(6, len(nsn))))
                number = nsn[:-tail] + _digits(rng, tail + int(rng.integers(-1, 2)))
                forms = (number, f"0{number}", f"+{cc} {number}", f"00{cc}{number}", f"{cc}{number}", f"1{number}")
                out.append(forms[int(rng.integers(0, len(forms)))])
    return out


@pytest.fixture(scope="module")
def corpus() -> tuple[list[str], int]:
    """About 55k raw values; the first ``realistic`` of them are what sources really hold."""
    rng = np.random.default_rng(7)
    realistic = _realistic(7)
    return realistic + _random(rng, 25_000) + _near_examples(rng, 60), len(realistic)


def _reference(values: pl.Series, default: str | None, others: tuple[str, ...]) -> list[str | None]:
    # the pure library path, one call per distinct cleaned string as _e164 cleans it
    digits = values.str.strip_chars().str.replace_all(r"[^\d+]", "").str.replace(r"^00", "+")
    known = {d: normalise._format(d, default, others) for d in digits.drop_nulls().unique().to_list()}
    return [None if d is None else known[d] for d in digits.to_list()]


@pytest.mark.parametrize(
    ("default", "regions", "min_realistic_share"),
    [("ES", ["ES", "FR", "DE", "GB"], 0.99), ("GB", ["US", "IT", "NL"], 0.0)],
)
def test_fast_path_equals_phonenumbers_value_by_value(corpus, default, regions, min_realistic_share):
    values, n_realistic = corpus
    raw = pl.Series("p", values, dtype=pl.String)
    assert raw.len() >= 50_000
    got = pl.DataFrame({"p": raw}).select(phone(pl.col("p"), default, regions))["p"].to_list()
    others = tuple(r for r in regions if r != default)
    expected = _reference(raw, default, others)
    mismatches = [(v, g, e) for v, g, e in zip(values, got, expected, strict=True) if g != e]
    assert not mismatches[:20], f"{len(mismatches)} mismatches"

    digits = raw.str.replace_all(r"[^\d+]", "").str.replace(r"^00", "+")
    claimed = phones.claim(digits.unique().drop_nulls(), default, others)["digits"].implode()
    share = digits.is_in(claimed).mean()
    realistic_share = digits.head(n_realistic).is_in(claimed).mean()
    valid = sum(e is not None for e in expected) / len(expected)
    print(f"{default}+{regions}: {len(values):,} values, {valid:.0%} valid, fast path claimed {share:.1%}")
    print(f"  of the generator's realistic values: {realistic_share:.1%}")
    # the corpus must exercise both outcomes and both paths, or the comparison proves little
    assert 0.2 < valid < 0.9
    assert 0.5 < share < 1.0
    assert realistic_share >= min_realistic_share


def test_unsupported_regions_leave_everything_to_the_library():
    # AR's national prefix has a transform rule; XX is no region at all
    digits = pl.Series(["91123456789", "+5491123456789", "612345678"])
    assert phones.claim(digits, "AR", ()).height == 0
    assert phones.claim(digits, "XX", ()).height == 0
    raw = pl.Series("p", ["011 15-2345-6789", "+54 9 11 2345 6789", "612 345 678", None])
    got = pl.DataFrame({"p": raw}).select(phone(pl.col("p"), "AR", ["ES"]))["p"].to_list()
    assert got == _reference(raw, "AR", ("ES",))


def test_claim_of_nothing_is_empty():
    empty = phones.claim(pl.Series([], dtype=pl.String), "ES", ("FR",))
    assert empty.schema == pl.Schema({"digits": pl.String, "e164": pl.String})
    assert empty.height == 0
    assert pl.DataFrame({"p": [None, None]}, schema={"p": pl.String}).select(phone(pl.col("p"), "ES"))[
        "p"
    ].to_list() == [None, None]
