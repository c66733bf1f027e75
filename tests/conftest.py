"""Shared fixtures: a DuckDB file per test, a PostgreSQL schema per test, one whole-graph run on PostgreSQL.

PostgreSQL tests skip when no server answers, except under ``CI=true`` where an
unreachable server is a failure: CI must prove the production warehouse works.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.warehouse_pair import two_warehouses  # noqa: F401 (a fixture: importing it here registers it)

# The two xdist workers (pyproject's addopts) share two cores, and OpenMP threads spin-wait for each other
# across processes: a scikit-learn HistGradientBoosting fit or prediction on two threads beside another busy
# process crawls (cxdata holds the boosted model to one thread for the same reason). One OpenMP thread per
# worker, set before any test imports scikit-learn, and inherited by the commands tests start.
os.environ.setdefault("OMP_NUM_THREADS", "1")

PG_URL = os.environ.get("CXDATA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_reachable() -> str | None:
    engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        return None
    except Exception as exc:  # any driver error means "no server here"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    finally:
        engine.dispose()


# The suite runs on two xdist workers (pyproject's addopts). The whole-graph runs below are session fixtures,
# built once per worker that asks for them: every test reading them goes to one worker, so each is built once.
# A test that reaches them through request.getfixturevalue marks its module with the same group itself.
WHOLE_GRAPH_FIXTURES = ("materialised_on_duckdb", "materialised_on_postgresql")


_SHARED_MEMORY = Path("/dev/shm")
_OWN_BASETEMP = pytest.StashKey[str]()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config) -> None:
    # Dagster's sqlite instance commits, with an fsync, several times for every event of a run, and a
    # whole-graph run writes hundreds: on a disk that is most of a small run's time, on tmpfs nothing. Tests
    # write their warehouses and Dagster homes under a temporary directory in memory when the machine has one
    # (before pytest's own tmpdir plugin reads the option; xdist gives each worker a folder below it).
    if config.option.basetemp is not None or hasattr(config, "workerinput"):
        return
    if _SHARED_MEMORY.is_dir() and os.access(_SHARED_MEMORY, os.W_OK):
        config.option.basetemp = tempfile.mkdtemp(prefix="cxdata-tests-", dir=_SHARED_MEMORY)
        config.stash[_OWN_BASETEMP] = config.option.basetemp


def pytest_unconfigure(config) -> None:
    own = config.stash.get(_OWN_BASETEMP, None)
    if own is not None:
        shutil.rmtree(own, ignore_errors=True)  # memory, not disk: nothing is left behind


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        if any(name in getattr(item, "fixturenames", ()) for name in WHOLE_GRAPH_FIXTURES):
            item.add_marker(pytest.mark.xdist_group("whole_graph"))


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's headless Chromium; skipped where missing, except under CI=true where browser tests must run."""
    browser = shutil.which("chromium")
    if browser is None:
        message = "Debian's chromium is not installed (.ci/run installs it: apt-get install -y chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; under CI=true the browser tests must run")
        pytest.skip(message)
    return browser


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The PostgreSQL URL, or a skip (a failure under CI=true) when nothing answers."""
    problem = _pg_reachable()
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL at {PG_URL} is unreachable under CI=true: {problem}")
        pytest.skip(f"no PostgreSQL server at {PG_URL}: {problem}")
    return PG_URL


@pytest.fixture
def pg_schema(pg_server: str):
    """A fresh schema for one test, dropped afterwards; yields (url, schema)."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(pg_server)
    with engine.begin() as conn:
        conn.execute(sa.text(f'create schema "{schema}"'))
    try:
        yield pg_server, schema
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'drop schema if exists "{schema}" cascade'))
        engine.dispose()


@pytest.fixture
def duckdb_url(tmp_path) -> str:
    return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"


@pytest.fixture(params=["duckdb", "postgresql"])
def warehouse_target(request, tmp_path):
    """(url, schema) for each warehouse backend; tests using it run on both."""
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'warehouse.duckdb'}", None
    return request.getfixturevalue("pg_schema")


# Orders of seven customers over the first three months of 2024: a whole project that runs in seconds.
SEVEN_CUSTOMER_ORDERS = "order_id,customer_ref,email,ordered_at,amount\n" + "".join(
    f"{n},c{n % 7},p{n % 7}@example.com,2024-0{1 + n % 3}-{1 + n % 27:02d},{10 + n}\n" for n in range(1, 60)
)


RERUNS = 2  # a daily schedule reruns the graph: the second run must give what the first gave
# DuckDB: a kill -9 inside identity's transaction before run 2 (a kill inside a GX write is
# tests/validate/test_gx_recovery.py's)
KILLED_AT = ("publish:customer_identity:staged",)
ANSWER_COLUMNS = ["customer_key", "p_alive", "expected_purchases", "clv", "churn_probability", "value_at_risk"]


@dataclass(frozen=True)
class MaterialisedRun:
    """A small synthetic project materialised end to end RERUNS times by `pipelines.runner.run_project`.

    ``outcome`` is the last run's, ``first`` the first run's; ``answers`` holds each run's keys and scores
    (`run_answers`), ``broken`` each
    run's unreadable relations and left-over staging tables (`broken_relations`), ``killed`` the kill -9s between
    runs (DuckDB only): the crash point, the exit code, and what was broken right after.
    """

    project: object  # cxdata.synth.GeneratedProject
    url: str
    schema: str | None
    outcome: object  # pipelines.runner.RunOutcome
    answers: list = field(default_factory=list)
    broken: list = field(default_factory=list)
    killed: list = field(default_factory=list)
    dagster_home: str | None = None  # the Dagster instance the runs were recorded in (their events, metadata)
    first: object = None  # the first run's RunOutcome: it checked every table whole, the rerun its rewritten rows


def run_answers(url: str, schema: str | None) -> dict:
    """What a rerun must reproduce: every record's key, and every customer's scores and segment."""
    from cxdata.warehouse import Warehouse

    with Warehouse(url, schema) as wh:
        keys = wh.read("identity_record_keys", columns=["source_table", "record_id", "customer_key"])
        scores = wh.read("customer_scores", columns=[*ANSWER_COLUMNS, "segment"])
        customers = wh.read("dim_customer", columns=["customer_key"])
    return {
        "keys": keys.sort("source_table", "record_id"),
        "scores": scores.sort("customer_key"),
        "dim_customer": customers.sort("customer_key"),
    }


def broken_relations(url: str, schema: str | None) -> list[str]:
    """Every table or view of the schema that a plain select fails on, and every staging table left."""
    from cxdata.warehouse import Warehouse
    from cxdata.warehouse.identifiers import STAGING_PREFIX

    with Warehouse(url, schema) as wh:
        names = wh.query(
            "select table_name from information_schema.tables where table_schema = :schema", {"schema": wh.schema}
        )["table_name"].to_list()
        broken = [name for name in names if name.startswith(STAGING_PREFIX)]
        for name in names:
            try:
                wh.query(f'select * from "{name}" limit 1')
            except Exception as exc:  # any error is a broken relation; the list names it
                broken.append(f"{name}: {exc}")
    return broken


# A project expectation of severity warn that the synthetic orders break (amounts run to hundreds): the
# whole-graph runs show a warning rule failing without stopping anything (tests/pipelines/test_checks.py).
WARNED_EXPECTATION = {
    "table": "stg_orders", "column": "amount", "expect": "between", "min": 0, "max": 1, "severity": "warn",
}  # fmt: skip


@pytest.fixture(scope="session")
def pipeline_project(tmp_path_factory):
    """The 300-customer project (seed 7) that both whole-graph fixtures materialise, with WARNED_EXPECTATION."""
    import yaml

    from cxdata.synth import SynthParams, generate_project

    project = generate_project(tmp_path_factory.mktemp("project"), SynthParams(customers=300, seed=7))
    raw = yaml.safe_load(project.config_path.read_text(encoding="utf-8"))
    raw["validation"] = {"expectations": [WARNED_EXPECTATION]}
    project.config_path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return project


@pytest.fixture(scope="session")
def materialised_on_postgresql(pg_server: str, pipeline_project, tmp_path_factory) -> Iterator[MaterialisedRun]:
    """Every asset of the 300-customer project materialised RERUNS times on PostgreSQL, in a schema of its own,
    from a copy of its config without the ``as_of`` line: the runs take as_of from the staged events, which end on
    the config's day, so they describe the same moment as the DuckDB runs (tests/pipelines/test_run_context.py).

    The whole graph takes tens of seconds: tests that only read what a real run published share this one.
    """
    from cxdata.config import WAREHOUSE_SCHEMA_ENV, WAREHOUSE_URL_ENV, load_config
    from pipelines.runner import run_project

    root = tmp_path_factory.mktemp("without_as_of") / "project"
    skipped = shutil.ignore_patterns("*.duckdb", ".cxdata")
    shutil.copytree(pipeline_project.config_path.parent, root, ignore=skipped)
    config_path = root / "cxdata.yaml"
    lines = config_path.read_text(encoding="utf-8").splitlines()
    config_path.write_text("\n".join(line for line in lines if not line.startswith("as_of:")) + "\n", "utf-8")
    db_schema = f"t_{uuid.uuid4().hex[:12]}"
    run = MaterialisedRun(pipeline_project, pg_server, db_schema, None)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv(WAREHOUSE_URL_ENV, pg_server)
            patch.setenv(WAREHOUSE_SCHEMA_ENV, db_schema)
            patch.setenv("DAGSTER_HOME", str(tmp_path_factory.mktemp("dagster_home")))
            for _ in range(RERUNS):
                outcome = run_project(load_config(config_path))
                run = replace(run, first=run.first or outcome)
                if not outcome.success:
                    break
                run.answers.append(run_answers(pg_server, db_schema))
                run.broken.append(broken_relations(pg_server, db_schema))
        yield replace(run, outcome=outcome)
    finally:
        engine = sa.create_engine(pg_server)
        with engine.begin() as conn:
            conn.execute(sa.text(f'drop schema if exists "{db_schema}" cascade'))
        engine.dispose()


def _killed_run(config_path, crash_at: str) -> int:
    import subprocess
    import sys

    from cxdata.faults import ENV as CRASH_ENV

    exe = shutil.which("cxdata", path=str(Path(sys.executable).parent))
    assert exe, "the cxdata console script is not installed in this environment"
    env = {**os.environ, CRASH_ENV: crash_at}
    env.pop("DAGSTER_HOME", None)
    # from the project's folder, so the checkout's dagster.yaml is not picked up
    done = subprocess.run(
        [exe, "run", "--config", str(config_path)],
        cwd=Path(config_path).parent,
        env=env,
        capture_output=True,
        timeout=600,
    )
    return done.returncode


@pytest.fixture(scope="session")
def materialised_on_duckdb(pipeline_project, tmp_path_factory) -> MaterialisedRun:
    """The same project materialised RERUNS times on DuckDB, each rerun preceded by a `cxdata run` killed with
    kill -9 at one of KILLED_AT (inside identity's transaction)."""
    from cxdata.config import WAREHOUSE_URL_ENV, load_config
    from pipelines.runner import run_project

    url = f"duckdb:///{tmp_path_factory.mktemp('duckdb_runs') / 'warehouse.duckdb'}"
    run = MaterialisedRun(pipeline_project, url, None, None)
    home = str(tmp_path_factory.mktemp("dagster_home"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(WAREHOUSE_URL_ENV, url)
        patch.setenv("DAGSTER_HOME", home)
        for attempt in range(RERUNS):
            if attempt:
                code = _killed_run(pipeline_project.config_path, KILLED_AT[attempt - 1])
                run.killed.append((KILLED_AT[attempt - 1], code, broken_relations(url, None)))
            outcome = run_project(load_config(pipeline_project.config_path))
            run = replace(run, first=run.first or outcome)
            if not outcome.success:
                break
            run.answers.append(run_answers(url, None))
            run.broken.append(broken_relations(url, None))
    return replace(run, outcome=outcome, dagster_home=home)
