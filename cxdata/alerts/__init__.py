"""Closed-loop alerts: valuable customers with a bad experience reach a person while it still matters.

- `cxdata.alerts.detect`: `detect_alerts` (detractor surveys, first-response SLA breaches, clv percentile filter);
- `cxdata.alerts.notify`: Slack-compatible webhook `message`, `post_json`, `deliver` (standard library only);
- `cxdata.alerts.step`: `alerts_step` and `AlertsReport` (the cx_alerts table: pending until a 2xx answer);
- `cxdata.alerts.failures`: `record_failure` (the pipeline_failures table the run-failure sensor writes).
"""

from cxdata.alerts.failures import PipelineFailure, record_failure
from cxdata.alerts.step import AlertsReport, alerts_step

__all__ = ["AlertsReport", "PipelineFailure", "alerts_step", "record_failure"]
