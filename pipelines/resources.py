"""Dagster resources: the project config and the warehouse it names, chosen once per run.

The warehouse URL is read from the project config (or `CXDATA_WAREHOUSE_URL`)
when a run starts, never stored in run config, so a password in it never
reaches Dagster's storage or UI.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from cxdata.config import ProjectConfig, load_config
from cxdata.warehouse import Warehouse


class ProjectResource(dg.ConfigurableResource):
    """The project's `cxdata.yaml`, with an optional `as_of` override from the command line."""

    config_path: str
    as_of: str | None = None

    def load(self) -> ProjectConfig:
        config = load_config(self.config_path)
        if self.as_of:
            return config.model_copy(update={"as_of": dt.date.fromisoformat(self.as_of)})
        return config


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse the project publishes to (DuckDB file by default, PostgreSQL in production)."""

    project: ProjectResource

    def get(self) -> Warehouse:
        config = self.project.load()
        return Warehouse(config.warehouse, schema=config.warehouse_schema)
