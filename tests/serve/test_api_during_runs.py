"""The API keeps answering while the value step republishes its tables: no 5xx during reruns on PostgreSQL
(customer_scores changes once per run, with all its columns), and a rerun at one moment adds no history row."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from cxdata.churn.step import value_step
from cxdata.run_context import run_context
from cxdata.synth import SynthParams, generate_project
from cxdata.warehouse import Warehouse

from ..facts import person_facts
from .conftest import Client, running

RERUNS = 2


@pytest.fixture(scope="module")
def small_project(tmp_path_factory):
    root = tmp_path_factory.mktemp("api_during_runs")
    generate_project(root, SynthParams(customers=800, seed=71))
    config, facts = person_facts(root)
    clv = config.models.clv.model_copy(update={"penalizers": [0.01], "model": "bgnbd"})
    churn = config.models.churn.model_copy(update={"cutoffs": 2, "max_iter": 60, "importance_repeats": 1})
    return config.model_copy(
        update={"models": config.models.model_copy(update={"clv": clv, "churn": churn})}
    ), facts


def test_no_5xx_while_the_value_step_reruns_on_postgresql(small_project, pg_schema):
    config, facts = small_project
    url, schema = pg_schema
    with Warehouse(url, schema=schema) as wh:
        for name, frame in facts.items():
            wh.publish(name, frame)
        value_step(wh, config, run_context(wh, config, "r0"))
        customers = wh.read("customer_scores", columns=["customer_key"], limit=5)["customer_key"].to_list()
        segment = wh.read("segment_summary", columns=["segment"], limit=1)["segment"][0]
    paths = ["/segments", f"/segments/{segment}?limit=50", *(f"/customers/{key}/scores" for key in customers)]
    statuses: Counter[int] = Counter()
    stop = threading.Event()

    def hammer(base: str) -> None:
        client = Client(base)
        try:
            while not stop.is_set():
                for path in paths:
                    status, _, _ = client.get(path)
                    statuses[status] += 1
        finally:
            client.close()

    with running(url, schema) as base:
        thread = threading.Thread(target=hammer, args=(base,), daemon=True)
        thread.start()
        try:
            with Warehouse(url, schema=schema) as wh:
                for run in range(1, RERUNS + 1):
                    clv, churn = value_step(wh, config, run_context(wh, config, f"r{run}"))
                    assert clv.failed is None and churn is not None and churn.failed is None
        finally:
            stop.set()
            thread.join(timeout=60)
        body = Client(base).json(f"/customers/{customers[0]}/scores")

    assert sum(statuses.values()) > len(paths) * RERUNS  # the API really was read throughout
    assert {status for status in statuses if status >= 500} == set(), statuses
    assert set(statuses) == {200}, statuses
    # three runs at one moment: that moment's history row was replaced, not copied
    assert len(body["scores"]) == 1 and body["scores"][0]["model_run_id"] == f"r{RERUNS}/clv"
