"""The sales domain: CRM customers and orders."""

from __future__ import annotations

import dagster as dg

from cxdata.config import ProjectConfig
from pipelines.staging import staging_assets

TABLES = ("customers", "orders")


def assets(config: ProjectConfig) -> list[dg.AssetsDefinition]:
    return staging_assets(config, "sales", TABLES)
