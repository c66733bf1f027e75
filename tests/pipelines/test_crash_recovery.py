"""`cxdata run` killed at named moments (kill -9 at the crash points of `cxdata.faults`), each kill followed by
the next run: every table and view stays readable, no staging table is left, and no alert reaches the webhook
twice except the one whose delivery was cut off before it was saved."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from cxdata.faults import ENV as CRASH_ENV
from cxdata.synth import SynthParams, generate_project
from cxdata.warehouse import Warehouse

from ..alerts.webhook import webhook
from .test_reruns import _unreadable

# In run order: inside a staging transaction, between identity's tables, inside a GX suite write, between the
# scores' staging and their swap, between an alert's delivery and the saving of its state.
MARKERS = (
    "publish:stg_orders:staged",
    "publish:customer_identity:staged",
    "gx:suite_write",
    "publish:customer_scores:staged",
    "alerts:delivered",
)


def _cxdata_run(config: Path, crash_at: str | None, webhook: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("cxdata", path=str(Path(sys.executable).parent))
    assert exe, "the cxdata console script is not installed in this environment"
    env = {**os.environ, CRASH_ENV: crash_at or "", "CXDATA_ALERT_WEBHOOK_URL": webhook, "COLUMNS": "200"}
    env.pop("DAGSTER_HOME", None)
    return subprocess.run(
        [exe, "run", "--config", str(config)], env=env, capture_output=True, text=True, timeout=600
    )


@pytest.mark.slow
def test_runs_killed_at_each_marker_recover_on_the_next_run(tmp_path):
    project = generate_project(tmp_path / "project", SynthParams(customers=200, seed=67))
    # alert on every detractor and late ticket of the last quarter, so a small project has several to deliver
    with project.config_path.open("a", encoding="utf-8") as config:
        config.write("alerts:\n  min_clv_percentile: 0\n  lookback_days: 90\n  sla_hours: 2\n")
    url = f"duckdb:///{project.out_dir / 'warehouse.duckdb'}"
    with webhook() as hook:
        hook_url = f"http://127.0.0.1:{hook.server_port}/alerts"
        for marker in MARKERS:
            # alerts stay pending (a webhook outage) until the run that is killed between delivery and save
            hook.status = 200 if marker == "alerts:delivered" else 503
            hook.received.clear()
            killed = _cxdata_run(project.config_path, marker, hook_url)
            assert killed.returncode == -9, (marker, killed.returncode, killed.stderr[-2000:])
            if Path(url.removeprefix("duckdb:///")).exists():
                with Warehouse(url) as wh:
                    assert _unreadable(wh) == [], marker
        done = _cxdata_run(project.config_path, None, hook_url)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        with Warehouse(url) as wh:
            assert _unreadable(wh) == []
            delivered = set(wh.read("cx_alerts", where={"status": "sent"})["alert_id"])
            alerts = wh.row_count("cx_alerts")
        counts = Counter(hook.alert_ids())
    assert alerts > 1 and set(counts) == delivered and len(delivered) == alerts
    # the kill cut off exactly one alert between its delivery and its saving: only that one came twice
    assert sorted(counts.values(), reverse=True)[:2] == [2, 1]
