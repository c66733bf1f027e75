"""Counter-based bootstrap weights: Poisson(1) per replicate, independent across replicates and seeds, and a
customer's weight does not depend on the customers drawn with it."""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from cxdata.touchpoints.resample import key_hashes, poisson_weights, uniforms, weight_blocks

KEYS = pl.Series([f"C{i:010d}" for i in range(1, 200_001)])


def test_each_replicate_is_poisson_one():
    bases = key_hashes(KEYS, seed=7)
    pmf = np.array([math.exp(-1.0) / math.factorial(k) for k in range(5)])
    for replicate in (0, 1, 57, 199):
        w = poisson_weights(bases, replicate)
        # 200,000 draws: the mean's sd is 0.0022, the variance's 0.0039 (fourth central moment 4)
        assert abs(w.mean() - 1.0) < 0.01 and abs(w.var() - 1.0) < 0.02
        shares = np.bincount(w.astype(np.int64), minlength=5)[:5] / w.size
        assert np.abs(shares - pmf).max() < 0.005


def test_replicates_and_seeds_are_uncorrelated():
    bases = key_hashes(KEYS, seed=7)
    blocks = np.vstack([block for _, block in weight_blocks(bases, 16)])
    other = np.vstack([block for _, block in weight_blocks(key_hashes(KEYS, seed=8), 16)])
    corr = np.corrcoef(np.vstack([blocks, other]))
    off = corr[~np.eye(corr.shape[0], dtype=bool)]
    # at 200,000 customers an independent pair's correlation has sd 0.0022
    assert np.abs(off).max() < 0.012
    # and successive customers' weights in a replicate are not related either (keys differ by one digit)
    assert abs(np.corrcoef(blocks[0][:-1], blocks[0][1:])[0, 1]) < 0.012
    assert abs(uniforms(bases, 3).mean() - 0.5) < 0.003


def test_a_customers_weight_does_not_depend_on_the_others():
    everyone = np.vstack([block for _, block in weight_blocks(key_hashes(KEYS, seed=3), 12, block=5)])
    some = np.arange(0, KEYS.len(), 7)
    alone = np.vstack([block for _, block in weight_blocks(key_hashes(KEYS.gather(some), seed=3), 12)])
    assert np.array_equal(alone, everyone[:, some])
    # another seed draws other weights
    assert not np.array_equal(poisson_weights(key_hashes(KEYS, seed=4), 0), everyone[0])
