"""The Dagster executor of a project's runs, chosen by name: in one process, in subprocesses, or on celery workers.

The celery broker and result backend URLs come from environment variables that Dagster reads when a run starts,
so a password in them never reaches a config file, Dagster's run storage or its UI.
"""

from __future__ import annotations

import os

import dagster as dg

from cxdata.config_scale import ScaleConfig
from pipelines.sharding import SHARD_TAG

CELERY_BROKER_ENV = "CXDATA_CELERY_BROKER"
CELERY_BACKEND_ENV = "CXDATA_CELERY_BACKEND"
EXECUTORS = ("in_process", "multiprocess", "celery")


def default_executor_name(warehouse_kind: str) -> str:
    """`in_process` on DuckDB, `multiprocess` on any other warehouse: the config's rule when `scale.executor`
    is not set."""
    return ScaleConfig().executor_for(warehouse_kind)


def executor_def(name: str | None, warehouse_kind: str, shards_at_once: int = 2) -> dg.ExecutorDefinition:
    """The executor called `name`, or the warehouse's default one when `name` is None. In processes, at most
    ``shards_at_once`` shard steps run at once (`scale.max_concurrent_shards`)."""
    name = name or default_executor_name(warehouse_kind)
    if name == "in_process":
        return dg.in_process_executor
    if name == "multiprocess":
        return _multiprocess_executor(shards_at_once)
    if name == "celery":
        return _celery_executor()
    raise ValueError(f"unknown executor {name!r}: expected one of {', '.join(EXECUTORS)}")


def celery_urls() -> tuple[str, str]:
    """The celery broker and result backend URLs from the environment; a missing variable is named."""
    missing = [env for env in (CELERY_BROKER_ENV, CELERY_BACKEND_ENV) if not os.environ.get(env)]
    if missing:
        raise ValueError(
            f"the celery executor needs the environment variable(s) {', '.join(missing)} "
            "(broker and result backend URLs, e.g. redis://host:6379/0)"
        )
    return os.environ[CELERY_BROKER_ENV], os.environ[CELERY_BACKEND_ENV]


def _multiprocess_executor(shards_at_once: int) -> dg.ExecutorDefinition:
    # Each step is a child process. Forked from a server that imported these once (for the life of the calling
    # process), a step starts in about a second instead of importing them again (spawn: 20 s and more; Great
    # Expectations alone, which every step with quality checks loads, takes seconds).
    preload = ["dagster", "polars", "sklearn", "sqlalchemy", "great_expectations", "pipelines.definitions"]
    return dg.multiprocess_executor.configured(
        {
            "start_method": {"forkserver": {"preload_modules": preload}},
            "tag_concurrency_limits": [{"key": SHARD_TAG, "limit": shards_at_once}],
        },
        name="multiprocess",
    )


def _celery_executor() -> dg.ExecutorDefinition:
    celery_urls()  # fail when the definitions load, not when the first run starts
    try:
        # an optional extra: only projects that choose celery need it installed
        from dagster_celery import celery_executor
    except ImportError as exc:
        raise ImportError(
            "the celery executor needs the optional extra celery: pip install 'cxdata[celery]'"
        ) from exc
    return celery_executor.configured(
        {"broker": {"env": CELERY_BROKER_ENV}, "backend": {"env": CELERY_BACKEND_ENV}},
        name="celery",
    )
