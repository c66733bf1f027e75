"""Dagster's celery executor runs a job's steps on real celery workers over Redis, one step per worker process."""

from __future__ import annotations

import os

import dagster as dg
import pytest

from pipelines.executors import CELERY_BACKEND_ENV, CELERY_BROKER_ENV
from tests.celery_workers import celery_workers, redis_server

WORKER_EVENT = "Celery worker"


@pytest.fixture
def dagster_home(tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def _step_workers(instance: dg.DagsterInstance, run_id: str) -> dict[str, str]:
    """Step key -> the celery node that ran it, from the engine events the workers log."""
    events = instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)
    return {
        event.dagster_event.step_key: event.dagster_event.engine_event_data.metadata[WORKER_EVENT].value
        for event in events
        if event.dagster_event.step_key and WORKER_EVENT in event.dagster_event.engine_event_data.metadata
    }


# dagster_celery registers its task on the executor's app once per step submitted
@pytest.mark.filterwarnings("ignore:Task name 'execute_plan' is already registered")
def test_steps_run_on_two_celery_workers(dagster_home, tmp_path, monkeypatch):
    url = redis_server()
    monkeypatch.setenv(CELERY_BROKER_ENV, url)
    monkeypatch.setenv(CELERY_BACKEND_ENV, url)
    job = dg.build_reconstructable_job("tests.pipelines.celery_job", "smoke_job")
    with (
        celery_workers(2, dagster_home, tmp_path / "workers") as workers,
        dg.DagsterInstance.get() as instance,
        dg.execute_job(job, instance=instance) as result,
    ):
        assert result.success
        assert result.output_for_node("join") == 3
        facts = {
            event.step_key: event.step_output_data.metadata
            for event in result.all_events
            if event.event_type == dg.DagsterEventType.STEP_OUTPUT
        }
        ran_on = _step_workers(instance, result.run_id)
    assert set(facts) == {"left", "right", "join"} == set(ran_on)
    pids = {step: meta["pid"].value for step, meta in facts.items()}
    assert os.getpid() not in pids.values()
    # a fresh pool child per task: no two steps share a process
    assert len(set(pids.values())) == 3
    # the two sleeping ops overlap, so each worker took one of them
    assert {ran_on["left"], ran_on["right"]} == set(workers.names)
    by_name = dict(zip(workers.names, workers.pids, strict=True))
    for step in ("left", "right", "join"):
        assert facts[step]["ppid"].value == by_name[ran_on[step]], step
