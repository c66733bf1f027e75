"""The web domain: web analytics events."""

from __future__ import annotations

import dagster as dg

from cxdata.config import ProjectConfig
from pipelines.staging import staging_assets

TABLES = ("web_events",)


def assets(config: ProjectConfig) -> list[dg.AssetsDefinition]:
    return staging_assets(config, "web", TABLES)
