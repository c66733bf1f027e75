"""The service domain: support tickets and the surveys that follow them."""

from __future__ import annotations

import dagster as dg

from cxdata.config import ProjectConfig
from pipelines.staging import staging_assets

TABLES = ("tickets", "surveys")


def assets(config: ProjectConfig) -> list[dg.AssetsDefinition]:
    return staging_assets(config, "service", TABLES)
