"""Checks on a churn run an orchestrator shows: a model was trained and it is not worse than BTYD on held-out time.

Both are warnings: CLV scores stay usable without churn (a short history cannot train it),
and a weak classifier is worth a look, not a stopped pipeline.
"""

from __future__ import annotations

import math

from cxdata.churn.step import ChurnReport
from cxdata.clv.checks import Verdict

BASELINE = "btyd_baseline"
# the bar on orders-only data: the classifier may trail BTYD by at most this much AUC
MAX_AUC_SHORTFALL = 0.01


def trained_verdict(report: ChurnReport | None) -> Verdict:
    """Warning: the run trained and scored a churn model (it is skipped when CLV failed)."""
    if report is None:
        return Verdict(False, "churn skipped: the CLV run failed, so there is no value to put at risk")
    if report.failed is not None:
        return Verdict(False, f"no churn model: {report.failed}")
    return Verdict(True, f"{report.model} scored {report.scored_customers} customers")


def baseline_verdict(report: ChurnReport | None) -> Verdict:
    """Warning: the chosen model's holdout AUC is at most ``MAX_AUC_SHORTFALL`` below the BTYD baseline's."""
    if report is None or report.failed is not None or report.model is None:
        return Verdict(False, "no churn model to compare")
    chosen = report.metrics.get(report.model, {}).get("auc", math.nan)
    baseline = report.metrics.get(BASELINE, {}).get("auc", math.nan)
    if not (math.isfinite(chosen) and math.isfinite(baseline)):
        return Verdict(False, f"holdout AUC not measurable (model {chosen}, BTYD {baseline})")
    passed = chosen >= baseline - MAX_AUC_SHORTFALL
    return Verdict(passed, f"holdout AUC {chosen:.3f} vs BTYD baseline {baseline:.3f} ({chosen - baseline:+.3f})")
