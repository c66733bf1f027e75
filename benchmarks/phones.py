"""Phone normalisation benchmark: the vectorised fast path against phonenumbers alone, on generated phones.

    uv run python benchmarks/phones.py [--people 250000] [--sample 20000] [--seed 1]

Each person's number comes in the generator's four renderings (E.164, spaced
international, national, 00-prefixed), so ``--people 250000`` gives 1M values.
The library-only time is measured on ``--sample`` distinct numbers and scaled up.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from cxdata.identity import normalise, phones
from cxdata.synth import SynthParams
from cxdata.synth.people import make_people
from cxdata.synth.timeline import Timeline


def main() -> None:
    """Generate the phones, normalise them both ways and print one line per figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=250_000)
    parser.add_argument("--sample", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    params = SynthParams(customers=args.people, seed=args.seed)
    values = make_people(params, Timeline.of(params), np.random.default_rng(args.seed)).phones
    default = params.phone_countries[0].code
    others = tuple(c.code for c in params.phone_countries[1:])
    digits = values.str.strip_chars().str.replace_all(r"[^\d+]", "").str.replace(r"^00", "+")
    distinct = digits.drop_nulls().unique()

    start = time.perf_counter()
    out = normalise._e164(values, default, others)
    fast = time.perf_counter() - start
    share = distinct.is_in(phones.claim(distinct, default, others)["digits"].implode()).mean()

    sample = distinct.sample(min(args.sample, distinct.len()), seed=args.seed).to_list()
    start = time.perf_counter()
    for number in sample:
        normalise._format(number, default, others)
    per_number = (time.perf_counter() - start) / len(sample)
    slow = per_number * distinct.len()

    print(f"regions    {default} + {', '.join(others)}")
    print(f"values     {values.len():>12,}")
    print(f"distinct   {distinct.len():>12,}")
    print(f"valid      {out.is_not_null().mean():>12.1%}")
    print(f"fast path  {share:>12.1%}  of distinct numbers claimed")
    print(f"fast       {fast:>12.2f} s  (whole _e164, slow path for the rest included)")
    print(f"slow only  {slow:>12.2f} s  ({per_number * 1e6:.0f} µs a number over {len(sample):,}, scaled)")
    print(f"speed-up   {slow / fast:>12.1f} x")


if __name__ == "__main__":
    main()
