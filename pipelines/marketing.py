"""The marketing domain: marketing touches and what each channel costs."""

from __future__ import annotations

import dagster as dg

from cxdata.config import ProjectConfig
from pipelines.staging import staging_assets

TABLES = ("touches", "touchpoint_costs")


def assets(config: ProjectConfig) -> list[dg.AssetsDefinition]:
    return staging_assets(config, "marketing", TABLES)
