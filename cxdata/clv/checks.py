"""Checks on a CLV run an orchestrator shows: the model is usable (blocking) and its holdout error is in bounds."""

from __future__ import annotations

import math
from dataclasses import dataclass

from cxdata.clv.step import ClvReport
from cxdata.config import ClvConfig


@dataclass(frozen=True)
class Verdict:
    """One check's outcome and the sentence saying why."""

    passed: bool
    reason: str


def model_verdict(report: ClvReport) -> Verdict:
    """Blocking: the run produced a model whose parameters are all finite and positive."""
    if report.failed is not None:
        return Verdict(False, f"no CLV model: {report.failed}")
    bad = {k: v for k, v in (report.params or {}).items() if not (math.isfinite(v) and v > 0)}
    if not report.params or bad:
        return Verdict(False, f"{report.model} parameters not finite and positive: {bad or 'none fitted'}")
    return Verdict(True, f"{report.model} fitted; parameters finite and positive")


def holdout_verdict(report: ClvReport, config: ClvConfig) -> Verdict:
    """Warning: predicted repeat purchases on the holdout within ``max_holdout_error`` of the actual ones."""
    error = report.metrics.get("aggregate_error")
    if error is None or not math.isfinite(error):
        return Verdict(False, "no holdout error was measured")
    within = abs(error) <= config.max_holdout_error
    relation = "within" if within else "outside"
    return Verdict(within, f"holdout aggregate error {error:+.1%} is {relation} ±{config.max_holdout_error:.0%}")
