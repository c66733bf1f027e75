"""The config sections of daily operation at scale: `incremental` (daily runs that restate recent days) and
`scale` (customer shards and the Dagster executor that runs them).

Like `cxdata.config_sections`, each class is one mapping of `cxdata.yaml` with
its defaults, held by `cxdata.config.ProjectConfig`; what depends on the
warehouse (DuckDB takes one writer) is checked there, by `scale_problems`.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from cxdata.config_sections import Strict

MAX_SHARDS = 256  # shards are groups of the 256 md5 buckets of cxdata.shards


class IncrementalConfig(Strict):
    """Daily incremental runs: which days a run restates, where the daily partitions start, and when identity
    falls back to a full rebuild."""

    lookback_days: int = Field(3, ge=0)  # late rows this many days before the newest day restate their day
    start_date: dt.date | None = None  # the first daily partition; None: the first day in the data
    # identity recomputes the components new records touch, unless they hold more than this share of records
    max_identity_share: float = Field(0.2, gt=0, le=1)


class ScaleConfig(Strict):
    """Customer shards: how many, on which Dagster executor, how many at once."""

    shards: int = Field(1, ge=1, le=MAX_SHARDS)
    # None: in_process on DuckDB, multiprocess on a server warehouse (`executor_for`)
    executor: Literal["in_process", "multiprocess", "celery"] | None = None
    max_concurrent_shards: int = Field(2, ge=1)

    def executor_for(self, warehouse_kind: str) -> str:
        """The executor a run uses on a warehouse of ``warehouse_kind`` (``duckdb`` or ``postgres``)."""
        if self.executor is not None:
            return self.executor
        return "in_process" if warehouse_kind == "duckdb" else "multiprocess"


def scale_problems(scale: ScaleConfig, warehouse_kind: str) -> list[tuple[tuple[str, ...], object, str]]:
    """(key, value, why) for each `scale` setting that the warehouse cannot run: a DuckDB file has one writer,
    so its steps run one after another in one process."""
    if warehouse_kind != "duckdb":
        return []
    problems: list[tuple[tuple[str, ...], object, str]] = []
    single = "a DuckDB warehouse is one file with a single writer, so its steps run in one process"
    if scale.shards > 1:
        problems.append((("scale", "shards"), scale.shards, f"{single}: use 1, or a PostgreSQL warehouse"))
    if scale.executor not in (None, "in_process"):
        problems.append(
            (("scale", "executor"), scale.executor, f"{single}: use in_process, or a PostgreSQL warehouse")
        )
    return problems
