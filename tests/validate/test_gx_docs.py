"""Data docs: a passing check renders its own page, a failing one the index too, the run's end the index."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from cxdata.validate import gx
from cxdata.validate.suites import ERROR, Spec

SPECS = [Spec("t", "not_null", ERROR, "id")]


def listed_runs(index: Path) -> set[str]:
    text = index.read_text()
    return {run for run in ("first", "passing", "failing") if run in text}


def test_the_index_lists_a_passing_run_once_refreshed_and_a_failing_one_at_once(tmp_path):
    first = gx.validate_frame(pl.DataFrame({"id": ["a"]}), "t", SPECS, tmp_path, run_name="first")
    assert first.docs_index is not None and listed_runs(first.docs_index) == {"first"}
    gx.validate_frame(pl.DataFrame({"id": ["b"]}), "t", SPECS, tmp_path, run_name="passing")
    assert any("passing" in str(page) for page in (tmp_path / "gx").rglob("*.html"))
    assert listed_runs(first.docs_index) == {"first"}
    assert gx.refresh_index(tmp_path) == first.docs_index
    assert listed_runs(first.docs_index) == {"first", "passing"}
    failing = gx.validate_frame(pl.DataFrame({"id": [None]}), "t", SPECS, tmp_path, run_name="failing")
    assert failing.failures and listed_runs(first.docs_index) == {"first", "passing", "failing"}


def test_refresh_index_without_any_validation_is_none(tmp_path):
    assert gx.refresh_index(tmp_path) is None
