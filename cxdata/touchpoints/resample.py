"""Customer bootstrap weights shared by the touchpoint estimators: one Poisson(1) weight per customer and
replicate (a Poisson bootstrap: resampling customers with replacement, without fixing the sample size).

`cxdata.touchpoints.lift` and `cxdata.touchpoints.retention` draw their replicates one at a time from a
generator seeded alike, over the same customers in the same order (those with kept orders, sorted by key), so
replicate r reweights the same customers in both and the ROI of a replicate resamples customers once.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

_LEVELS = 1 << 16


def _inverse_cdf() -> np.ndarray:
    pmf = np.array([math.exp(-1.0) / math.factorial(k) for k in range(16)])
    midpoints = (np.arange(_LEVELS) + 0.5) / _LEVELS
    return np.searchsorted(np.cumsum(pmf), midpoints).astype(np.float64)


# a weight is one 16-bit draw and a lookup: several times faster than Generator.poisson at millions of
# customers, and the quantised probabilities are off by less than 1/65,536
_WEIGHTS = _inverse_cdf()


def poisson_weights(rng: np.random.Generator, customers: int) -> np.ndarray:
    """One replicate's Poisson(1) weight per customer, as floats."""
    return _WEIGHTS[rng.integers(0, _LEVELS, size=customers, dtype=np.uint16)]


def weight_blocks(customers: int, replicates: int, seed: int, block: int = 8) -> Iterator[tuple[int, np.ndarray]]:
    """The replicates' weights a few at a time, as (first replicate, block x customers): a replicates x
    customers matrix would not fit at scale. The same seed gives the same weights to every estimator."""
    rng = np.random.default_rng(seed)
    for start in range(0, replicates, block):
        size = min(block, replicates - start)
        yield start, np.stack([poisson_weights(rng, customers) for _ in range(size)])
