"""The library stays a plain library: no Dagster or Great Expectations behind `import cxdata`."""

from __future__ import annotations

import subprocess
import sys

MODULES = ["cxdata.cli", "cxdata.config", "cxdata.io", "cxdata.profile", "cxdata.synth", "cxdata.warehouse"]


def test_library_imports_no_orchestrator_and_no_validation_framework():
    code = (
        f"import sys, {', '.join(MODULES)}; "
        "heavy = sorted(m for m in ('dagster', 'great_expectations') if m in sys.modules); "
        "print(','.join(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
