"""Dagster resources: the project config and the warehouse it names, chosen once per run.

The warehouse URL is read from the project config (or `CXDATA_WAREHOUSE_URL`)
when a run starts, never stored in run config, so a password in it never
reaches Dagster's storage or UI.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from cxdata.config import ProjectConfig, load_config
from cxdata.warehouse import Warehouse
from cxdata.warehouse.errors import is_transient

MAX_RETRIES = 3
RETRY_DELAY_SECONDS = 15


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

    @contextmanager
    def get(self) -> Iterator[Warehouse]:
        """The open warehouse; a transient error inside (lock timeout, dropped connection, DuckDB file held by
        another process) asks Dagster to retry the step, any other error fails it at once."""
        config = self.project.load()
        try:
            with Warehouse(config.warehouse, schema=config.warehouse_schema) as wh:
                # a killed run may have left staging tables (copies of personal data): gone before anything else
                wh.drop_stale_staging()
                yield wh
        except Exception as exc:
            if is_transient(exc):
                raise dg.RetryRequested(max_retries=MAX_RETRIES, seconds_to_wait=RETRY_DELAY_SECONDS) from exc
            raise
