"""The celery app cxdata's workers run: dagster_celery's tasks, with broker and backend from the environment.

Start a worker with `celery -A pipelines.celery_app worker -Q dagster`; it reads the same CXDATA_CELERY_BROKER and
CXDATA_CELERY_BACKEND as the celery executor, so no file holds the URLs.
"""

from __future__ import annotations

# Each step runs in a fresh child forked from the worker's main process: the SQL storage layer every Dagster
# instance opens (sqlalchemy, alembic), the project's definitions and Great Expectations (every step with
# quality checks loads it) are imported once here rather than again in every step.
import dagster._core.storage.sql  # noqa: F401
import great_expectations  # noqa: F401
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_execute_job_task, create_resume_job_task, create_task

import pipelines.definitions  # noqa: F401
from pipelines.executors import celery_urls

broker_url, result_backend = celery_urls()
app = make_app()
# Dagster steps are long: a worker takes a step only when it has a free process, instead of holding the next
# one while an idle worker waits (the no-prefetch switch exists for Redis brokers only)
app.conf.update(
    broker_url=broker_url,
    result_backend=result_backend,
    worker_prefetch_multiplier=1,
    worker_disable_prefetch=broker_url.startswith(("redis://", "rediss://")),
)

# the names dagster_celery.app gives its tasks, so a worker of this app runs what the executor submits
execute_plan = create_task(app)
execute_job = create_execute_job_task(app)
resume_job = create_resume_job_task(app)
