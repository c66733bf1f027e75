"""Materialise a whole project in process with the same definitions the UI shows, phase by phase."""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

from cxdata.config import ProjectConfig
from cxdata.errors import CxdataError
from pipelines.definitions import build_definitions
from pipelines.phases import BUILD_JOB, RUNNER_TAG, run_phases
from pipelines.reconstruct import runs_out_of_process
from pipelines.run import RUN_TAG
from pipelines.staging import FULL_REFRESH_TAG

if TYPE_CHECKING:
    from dagster._utils.error import SerializableErrorInfo


@dataclass(frozen=True)
class RunOutcome:
    """What a run did: its id, the assets it materialised, any step failures with their messages, the checks
    of severity error that failed without failing a step (``asset:check`` to the reason; e.g. no usable CLV
    model) and the assets of the run that were not materialised (skipped after such a check or a failure)."""

    run_id: str
    materialised: list[str]
    failures: dict[str, str]
    failed_checks: dict[str, str] = field(default_factory=dict)
    not_materialised: list[str] = field(default_factory=list)
    warned_checks: dict[str, str] = field(default_factory=dict)  # checks of severity warn that failed
    phase_runs: dict[str, str] = field(default_factory=dict)  # each phase job that ran: its Dagster run id

    @property
    def success(self) -> bool:
        """No step failed; a failed non-blocking check only narrows what was materialised."""
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


def run_project(
    config: ProjectConfig,
    as_of: str | None = None,
    on_step: Callable[[str, str], None] | None = None,
    debug: bool = False,
    full_refresh: bool = False,
) -> RunOutcome:
    """Materialise every asset of the project; failures are returned, not raised, with the user's message.
    Event sources restage only their stale days (`cxdata.io.partitions`) unless ``full_refresh``.

    The run is the phases of `pipelines.phases` in a row, one cxdata run id over both (the first phase's
    Dagster run id): the staging of the event days to restage, then everything else, which does not run
    when the first phase failed. The outcome covers both.

    `on_step(step_key, event)` hears each step start, success and failure, for a progress display, and each
    check of severity error that fails (event ``check failed``, key ``asset:check: reason``). Dagster's own
    console log, which repeats a failure with its stack trace and then once per step it skips, is silent
    unless ``debug``: the outcome says each failure once.
    """
    loggers = {"console": dg.colored_console_logger, "progress": _progress_logger(on_step or (lambda *_: None))}
    defs = build_definitions(config, as_of=as_of, loggers=loggers)
    level = "WARNING" if debug else "CRITICAL"
    quiet = {"loggers": {"console": {"config": {"log_level": level}}, "progress": {}}}
    run_id = str(uuid.uuid4())
    tags = {RUN_TAG: run_id, RUNNER_TAG: "true"} | ({FULL_REFRESH_TAG: "true"} if full_refresh else {})
    unchecked = _UncheckedSkippedAsset(_skippable(defs))
    plan_log = logging.getLogger(_PLAN_LOGGER)
    plan_log.addFilter(unchecked)
    try:
        with instance_for(config) as instance:
            results = run_phases(defs, config, instance, tags, run_config=quiet, as_of=as_of)
    finally:
        plan_log.removeFilter(unchecked)
    if runs_out_of_process(config) and BUILD_JOB in results:
        # its steps ran in other processes, which cannot call back into this one: told when they are done
        _replay(results[BUILD_JOB].all_events, on_step or (lambda *_: None))
    phases = [_phase_outcome(run_id, result, defs.resolve_job_def(name)) for name, result in results.items()]
    outcome = replace(
        _merged(run_id, phases), phase_runs={name: result.run_id for name, result in results.items()}
    )
    if BUILD_JOB not in results:  # the staging phase failed: nothing after it ran
        build = defs.resolve_job_def(BUILD_JOB).asset_layer.executable_asset_keys
        skipped = sorted(key.to_user_string() for key in build)
        outcome = replace(outcome, not_materialised=sorted({*outcome.not_materialised, *skipped}))
    return outcome


def _phase_outcome(
    run_id: str, result: dg.ExecuteInProcessResult | dg.JobExecutionResult, job: dg.JobDefinition
) -> RunOutcome:
    """What one phase run did; ``run_id`` is the cxdata run's."""
    materialised = [
        event.asset_key.to_user_string()
        for event in result.all_events
        if event.is_step_materialization and event.asset_key is not None
    ]
    failures = {
        event.step_key or "run": _failure_message(event) for event in result.all_events if event.is_step_failure
    }
    if not result.success and not failures:
        failures[f"run {job.name}"] = "the run failed before any step started; see the Dagster event log"
    checks = {
        f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}": _check_reason(evaluation)
        for evaluation in (_failed_check(event) for event in result.all_events)
        if evaluation is not None
    }
    warned = {
        f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}": _check_reason(evaluation)
        for evaluation in (_failed_check(event, dg.AssetCheckSeverity.WARN) for event in result.all_events)
        if evaluation is not None
    }
    selected = {key.to_user_string() for key in job.asset_layer.executable_asset_keys}
    missing = sorted(selected - set(materialised))
    # a step of a partition range materialises each of its days: the asset is named once
    return RunOutcome(run_id, list(dict.fromkeys(materialised)), failures, checks, missing, warned)


def _merged(run_id: str, phases: list[RunOutcome]) -> RunOutcome:
    """The outcomes of a run's phases as one."""
    return RunOutcome(
        run_id,
        [name for phase in phases for name in phase.materialised],
        {key: reason for phase in phases for key, reason in phase.failures.items()},
        {key: reason for phase in phases for key, reason in phase.failed_checks.items()},
        sorted({name for phase in phases for name in phase.not_materialised}),
        {key: reason for phase in phases for key, reason in phase.warned_checks.items()},
    )


# Dagster's executor logs, for every step downstream of an asset with a blocking check, that the check "emitted
# no result" when the check's step was skipped. The quality checks here (pipelines/checks.py) read only their own
# asset, so their step is skipped exactly when that asset was not materialised; for an asset a step may skip on
# purpose (customer_scores without a usable CLV model) every step downstream of it is then skipped too, and the
# warning's "will proceed without gating on it" never happens. RunOutcome.not_materialised says what was skipped.
_PLAN_LOGGER = "dagster._core.execution.plan.active"
_NO_RESULT = re.compile(r"Blocking asset check '(?P<asset>[^']+):[^':]+' emitted no result in step '[^']+'")


class _UncheckedSkippedAsset(logging.Filter):
    """Drops the executor's "emitted no result" warning of a blocking check on an asset its step may skip."""

    def __init__(self, skippable: set[str]) -> None:
        super().__init__()
        self._skippable = skippable

    def filter(self, record: logging.LogRecord) -> bool:
        found = _NO_RESULT.match(record.getMessage())
        return found is None or found["asset"] not in self._skippable


def _skippable(defs: dg.Definitions) -> set[str]:
    return {spec.key.to_user_string() for spec in defs.resolve_all_asset_specs() if spec.skippable}


def _failed_check(
    event: dg.DagsterEvent, severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR
) -> dg.AssetCheckEvaluation | None:
    """The evaluation of a non-blocking check of ``severity`` that failed, else None (a blocking one fails
    its step, which the failures report)."""
    if event.event_type_value != "ASSET_CHECK_EVALUATION":
        return None
    evaluation = event.event_specific_data
    failed = evaluation.severity == severity and not evaluation.passed and not evaluation.blocking
    return evaluation if failed else None


def _check_reason(evaluation: dg.AssetCheckEvaluation) -> str:
    reason = evaluation.metadata.get("reason")
    return str(reason.value) if reason is not None else evaluation.description or "failed"


_STEP_EVENTS = {"STEP_START": "started", "STEP_SUCCESS": "succeeded", "STEP_FAILURE": "failed"}


def _told(event: dg.DagsterEvent, on_step: Callable[[str, str], None]) -> None:
    """Tell ``on_step`` of a step's start, success or failure, or of a failed check of severity error."""
    if event.event_type_value in _STEP_EVENTS and event.step_key:
        on_step(event.step_key, _STEP_EVENTS[event.event_type_value])
    evaluation = _failed_check(event)
    if evaluation is not None:
        key = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
        on_step(f"{key}: {_check_reason(evaluation)}", "check failed")


def _replay(events: list[dg.DagsterEvent], on_step: Callable[[str, str], None]) -> None:
    for event in events:
        _told(event, on_step)


class _StepHandler(logging.Handler):
    def __init__(self, on_step: Callable[[str, str], None]) -> None:
        super().__init__(level=logging.DEBUG)
        self._on_step = on_step

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if event is not None:
            _told(event, self._on_step)


def _progress_logger(on_step: Callable[[str, str], None]) -> dg.LoggerDefinition:
    @dg.logger(description="Reports each step's start and end to the command line.")
    def progress(_context: dg.InitLoggerContext) -> logging.Logger:
        log = logging.Logger("cxdata.progress", level=logging.DEBUG)
        log.addHandler(_StepHandler(on_step))
        return log

    return progress


def _failure_message(event: dg.DagsterEvent) -> str:
    error = event.step_failure_data.error
    # A deliberate cxdata error already says what is wrong; dagster wraps it, so unwrap to its message.
    while error is not None:
        if error.cls_name in {cls.__name__ for cls in _error_classes()}:
            return error.message.strip().split(": ", 1)[-1]
        if error.cause is None:
            return _one_line(error)
        error = error.cause
    return "unknown failure"


def _one_line(error: SerializableErrorInfo) -> str:
    # An unexpected error: its class and the first line of its message. The stack trace (and any later lines)
    # stay in Dagster's event log, where the operator looks; the command line gets one line.
    text = error.message.strip()
    qualified, colon, rest = text.partition(": ")
    if colon and qualified.rsplit(".", 1)[-1] == error.cls_name:
        text = rest
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if not first or first == error.cls_name:
        return f"{error.cls_name} (see the Dagster event log)"
    return f"{error.cls_name}: {first}"


def _error_classes() -> list[type[Exception]]:
    found, stack = [], [CxdataError]
    while stack:
        cls = stack.pop()
        found.append(cls)
        stack.extend(cls.__subclasses__())
    return found
