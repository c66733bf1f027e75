"""Counter-based random draws of the touchpoint estimators: every customer's Poisson(1) bootstrap weight per
replicate (a Poisson bootstrap: resampling customers with replacement, without fixing the sample size), and
the uniform draws of the placebo twins, as pure functions of (key, counter, seed).

A draw is ``mix(hash(key) ^ mix(seed) + counter * golden)`` (splitmix64's finaliser), so a customer's weight
in replicate r does not depend on which other customers are drawn with it: a shard of the customers gets the
weights it would get among all of them, and the shards' sums add up to the unsharded sums. The weight is a
lookup of the draw's top 16 bits in a table of Poisson(1) quantiles. `cxdata.touchpoints.lift` and
`cxdata.touchpoints.retention` draw with the same seed, so replicate r reweights the same customers in both
and the ROI of a replicate resamples customers once.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import polars as pl

_LEVELS = 1 << 16
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _inverse_cdf() -> np.ndarray:
    pmf = np.array([math.exp(-1.0) / math.factorial(k) for k in range(16)])
    midpoints = (np.arange(_LEVELS) + 0.5) / _LEVELS
    return np.searchsorted(np.cumsum(pmf), midpoints).astype(np.float64)


# a weight is one 16-bit draw and a lookup; the quantised probabilities are off by less than 1/65,536
_WEIGHTS = _inverse_cdf()


def mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijection of 64-bit words in which every input bit moves every output bit."""
    x = np.asarray(x, dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * _M1
        x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def key_hashes(keys: pl.Series, seed: int) -> np.ndarray:
    """Each key's 64-bit stream base under ``seed`` (polars' string hash, mixed with the seed)."""
    raw = keys.cast(pl.String).hash(seed=0).to_numpy().astype(np.uint64)
    return mix(raw ^ mix(np.uint64(seed % (1 << 64))))


def draws(bases: np.ndarray, counter: int) -> np.ndarray:
    """The 64-bit draw number ``counter`` of every stream base."""
    with np.errstate(over="ignore"):
        return mix(bases + np.uint64(counter + 1) * _GOLDEN)


def uniforms(bases: np.ndarray, counter: int) -> np.ndarray:
    """Draw number ``counter`` of every stream as a double in [0, 1) (its top 53 bits)."""
    return (draws(bases, counter) >> np.uint64(11)).astype(np.float64) * 2.0**-53


def poisson_weights(bases: np.ndarray, replicate: int) -> np.ndarray:
    """Replicate ``replicate``'s Poisson(1) weight of every customer stream, as floats."""
    return _WEIGHTS[(draws(bases, replicate) >> np.uint64(48)).astype(np.int64)]


def weight_blocks(bases: np.ndarray, replicates: int, block: int = 8) -> Iterator[tuple[int, np.ndarray]]:
    """The replicates' weights of the customers with stream ``bases`` a few at a time, as (first replicate,
    block x customers): a replicates x customers matrix would not fit at scale."""
    for start in range(0, replicates, block):
        size = min(block, replicates - start)
        yield start, np.stack([poisson_weights(bases, start + r) for r in range(size)])
