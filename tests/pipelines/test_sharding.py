"""pipelines.sharding: a shard step's share of the cores for the native thread pools."""

from __future__ import annotations

import os

import pytest
from threadpoolctl import threadpool_info

from cxdata.config import ProjectConfig
from pipelines.sharding import cores_share


def _openmp_threads() -> set[int]:
    import sklearn.ensemble  # noqa: F401  (loads scikit-learn's OpenMP runtime)

    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "openmp"}


@pytest.mark.parametrize("at_once", [1, 2, 64])
def test_a_shard_step_takes_the_cores_over_the_steps_beside_it(at_once):
    sources = {"orders": {"path": "orders.csv"}}
    config = ProjectConfig.model_validate(
        {"name": "p", "sources": sources, "scale": {"max_concurrent_shards": at_once}}
    )
    cores = len(os.sched_getaffinity(0))
    before = _openmp_threads()
    with cores_share(config):
        assert _openmp_threads() == {max(1, cores // at_once)}
    assert _openmp_threads() == before
