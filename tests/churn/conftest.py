"""Churn fixtures: a generated project's fact tables keyed by the true person, and CDNOW orders."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import polars as pl
import pytest

from cxdata.synth import SynthParams, generate_project

from ..facts import person_facts


def _clv_helpers():
    # the CDNOW reader lives in tests/clv/conftest.py; load it by path (tests are not a package)
    path = Path(__file__).parents[1] / "clv" / "conftest.py"
    spec = importlib.util.spec_from_file_location("_clv_conftest", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("_clv_conftest", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def churn_project(tmp_path_factory):
    root = tmp_path_factory.mktemp("churn_truth")
    generate_project(root, SynthParams(customers=4000, seed=17))
    config, facts = person_facts(root)
    return root, config, facts


@pytest.fixture(scope="session")
def cdnow_orders() -> pl.DataFrame:
    return _clv_helpers().cdnow_master()
