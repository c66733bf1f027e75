"""Which project the Dagster UI shows: `CXDATA_CONFIG`, or the demo project made on first use."""

from __future__ import annotations

import logging
import os
from pathlib import Path

CONFIG_ENV = "CXDATA_CONFIG"
DEMO_DIR = Path(".cxdata") / "demo"
DEMO_CUSTOMERS = 2000

log = logging.getLogger(__name__)


def config_path() -> Path:
    """The config named by `CXDATA_CONFIG`; otherwise the demo project, generated if it is not there yet."""
    named = os.environ.get(CONFIG_ENV)
    if named:
        return Path(named).resolve()
    path = (Path.cwd() / DEMO_DIR / "cxdata.yaml").resolve()
    if not path.exists():
        from cxdata.synth import SynthParams, generate_project

        log.info("no %s set and no demo project yet: generating one in %s", CONFIG_ENV, path.parent)
        generate_project(path.parent, SynthParams(customers=DEMO_CUSTOMERS))
    return path
