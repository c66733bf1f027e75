"""Materialise a whole project in process with the same definitions the UI shows."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from cxdata.config import ProjectConfig
from cxdata.errors import CxdataError
from pipelines.definitions import build_definitions


@dataclass(frozen=True)
class RunOutcome:
    """What a run did: its id, the assets it materialised and any step failures with their messages."""

    run_id: str
    materialised: list[str]
    failures: dict[str, str]

    @property
    def success(self) -> bool:
        return not self.failures


def instance_for(config: ProjectConfig) -> dg.DagsterInstance:
    """`DAGSTER_HOME` if set; the repo's `dagster.yaml` when run from the repo; else a home beside the project."""
    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.get()
    if Path("dagster.yaml").exists():
        return dg.DagsterInstance.from_config(os.getcwd())
    home = config.base_dir / ".cxdata" / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    return dg.DagsterInstance.from_config(str(home))


def run_project(config: ProjectConfig, as_of: str | None = None) -> RunOutcome:
    """Materialise every asset of the project; failures are returned, not raised, with the user's message."""
    defs = build_definitions(config, as_of=as_of)
    job = defs.resolve_implicit_global_asset_job_def()
    with instance_for(config) as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False)
    materialised = [
        event.asset_key.to_user_string()
        for event in result.all_events
        if event.is_step_materialization and event.asset_key is not None
    ]
    failures = {
        event.step_key or "run": _failure_message(event) for event in result.all_events if event.is_step_failure
    }
    if not result.success and not failures:
        failures["run"] = "the run failed before any step started; see the Dagster event log"
    return RunOutcome(result.run_id, materialised, failures)


def _failure_message(event: dg.DagsterEvent) -> str:
    error = event.step_failure_data.error
    # A deliberate cxdata error already says what is wrong; dagster wraps it, so unwrap to its message.
    while error is not None:
        if error.cls_name in {cls.__name__ for cls in _error_classes()}:
            return error.message.strip().split(": ", 1)[-1]
        if error.cause is None:
            return error.to_string()
        error = error.cause
    return "unknown failure"


def _error_classes() -> list[type[Exception]]:
    found, stack = [], [CxdataError]
    while stack:
        cls = stack.pop()
        found.append(cls)
        stack.extend(cls.__subclasses__())
    return found
