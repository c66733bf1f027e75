"""Data docs: a passing check renders its own page, a failing one the index too, the run's end the index."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from cxdata.validate import gx
from cxdata.validate.suites import ERROR, Spec
from tests.browser import rendered_dom

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


def test_data_docs_need_no_network_and_the_index_lists_every_result_offline(tmp_path, chromium):
    gx.validate_frame(pl.DataFrame({"id": ["a"]}), "orders_t", SPECS, tmp_path / "docs", run_name="passing")
    failing = gx.validate_frame(
        pl.DataFrame({"id": [None]}), "orders_t", SPECS, tmp_path / "docs", run_name="failing"
    )
    pages = list((tmp_path / "docs" / "gx").rglob("*.html"))
    assert len(pages) == 3  # the index and one page per result
    remote = re.compile(r"""<(?:script|link|img)\b[^>]*(?:src|href)\s*=\s*["'](?:https?:)?//""", re.I)
    assert not [page for page in pages if remote.search(page.read_text(encoding="utf-8"))]
    dom = rendered_dom(chromium, failing.docs_index.as_uri(), tmp_path, offline=True)
    rows = re.findall(r"<tr><td>orders_t</td><td>(\w+)</td>.*?<td class=\"?(\w+)\"?>.*?href=\"([^\"]+)\"", dom)
    assert [(run, status) for run, status, _link in rows] == [("failing", "failed"), ("passing", "passed")]
    for _run, _status, link in rows:
        assert (failing.docs_index.parent / link).is_file()
    page = rendered_dom(chromium, (failing.docs_index.parent / rows[0][2]).as_uri(), tmp_path, offline=True)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert "id is never null 1 unexpected values found" in text
