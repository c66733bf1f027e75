"""Real celery worker processes for tests of Dagster's celery executor, on a Redis database of their own.

Redis tests skip when no server answers, except under ``CI=true`` where an unreachable server is a failure (as
PostgreSQL in tests/conftest.py): CI must prove the celery executor works.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.executors import CELERY_BACKEND_ENV, CELERY_BROKER_ENV

# db 11 keeps the tests' queues and results apart from anything else on the server; FLUSHDB only touches it
REDIS_URL = os.environ.get("CXDATA_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
READY_SECONDS = 60
SHUTDOWN_SECONDS = 30
KILL_SECONDS = 5
REPO = Path(__file__).resolve().parents[1]


def redis_server() -> str:
    """The test Redis URL, or a skip (a failure under CI=true) when nothing answers."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        problem = f"{type(exc).__name__}: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis at {REDIS_URL} is unreachable under CI=true: {problem}")
        pytest.skip(f"no Redis server at {REDIS_URL}: {problem}")
    finally:
        client.close()
    return REDIS_URL


@dataclass(frozen=True)
class CeleryWorkers:
    """Running workers: their celery node names and the pids of their main processes, in the same order."""

    url: str
    names: tuple[str, ...]
    pids: tuple[int, ...]


@contextmanager
def celery_workers(
    count: int, dagster_home: Path, workdir: Path, env: Mapping[str, str] | None = None
) -> Iterator[CeleryWorkers]:
    """`count` workers of `pipelines.celery_app` (one single-threaded prefork child each, a fresh child per task)
    on queue "dagster" of the test Redis db, sharing `dagster_home` with the test; stopped and the db flushed
    after. The test's process must see the same URL in CXDATA_CELERY_BROKER and CXDATA_CELERY_BACKEND."""
    from celery import Celery

    url = redis_server()
    _flush(url)  # a killed earlier session may have left steps in the queue that these workers would take
    workdir.mkdir(parents=True, exist_ok=True)
    worker_env = {
        **os.environ,
        **(env or {}),
        CELERY_BROKER_ENV: url,
        CELERY_BACKEND_ENV: url,
        "DAGSTER_HOME": str(dagster_home),
        "POLARS_MAX_THREADS": "1",
        "OMP_NUM_THREADS": "1",
    }
    token = uuid.uuid4().hex[:6]
    names = tuple(f"w{n}-{token}@{socket.gethostname()}" for n in range(1, count + 1))
    processes: list[subprocess.Popen] = []
    app = Celery("cxdata-tests", broker=url, backend=url)
    try:
        for name in names:
            log = (workdir / f"{name.split('@')[0]}.log").open("wb")
            processes.append(
                subprocess.Popen(
                    [
                        *(sys.executable, "-m", "celery", "-A", "pipelines.celery_app", "worker"),
                        *("-n", name.split("@")[0] + "@%h", "-Q", "dagster", "--pool", "prefork"),
                        *("--concurrency", "1", "--max-tasks-per-child", "1", "--prefetch-multiplier", "1"),
                        *("--without-gossip", "--without-mingle", "--loglevel", "INFO"),
                    ],
                    cwd=REPO,
                    env=worker_env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
            log.close()
        _wait_ready(app, names, processes, workdir)
        yield CeleryWorkers(url=url, names=names, pids=tuple(process.pid for process in processes))
    finally:
        _stop(app, names, processes)
        app.close()
        _flush(url)


def _wait_ready(app, names: tuple[str, ...], processes: list[subprocess.Popen], workdir: Path) -> None:
    deadline = time.monotonic() + READY_SECONDS
    answered: set[str] = set()
    while answered != set(names):
        for process, name in zip(processes, names, strict=True):
            if process.poll() is not None:
                log = (workdir / f"{name.split('@')[0]}.log").read_text(encoding="utf-8", errors="replace")
                raise RuntimeError(f"celery worker {name} exited with {process.returncode}:\n{log[-3000:]}")
        if time.monotonic() > deadline:
            silent = sorted(set(names) - answered)
            raise RuntimeError(f"celery workers {silent} did not answer within {READY_SECONDS} s")
        replies = app.control.ping(destination=list(names), timeout=1.0)
        answered |= {name for reply in replies for name in reply}


def _stop(app, names: tuple[str, ...], processes: list[subprocess.Popen]) -> None:
    # the broker may be the thing that failed; the signals below still stop the workers
    with suppress(Exception):
        app.control.broadcast("shutdown", destination=list(names))
    deadline = time.monotonic() + SHUTDOWN_SECONDS
    for process in processes:
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
    for sig in (signal.SIGTERM, signal.SIGKILL):
        alive = [process for process in processes if process.poll() is None]
        for process in alive:
            # the worker's own session: its pool children go too
            with suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
        for process in alive:
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=KILL_SECONDS)


def _flush(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        client.flushdb()
    finally:
        client.close()
