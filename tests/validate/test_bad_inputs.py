"""The corpus of broken inputs (tests/data/bad_inputs/cases.yaml): each case's outcome, and nothing lost."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
import yaml

from cxdata.config import load_config
from cxdata.errors import CxdataError
from cxdata.io import load_table, stage_table

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad_inputs"
CASES = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))


def test_the_corpus_is_broad():
    assert len(CASES) >= 25
    assert {case["table"] for case in CASES} == {
        "customers",
        "orders",
        "tickets",
        "surveys",
        "web_events",
        "touches",
        "touchpoint_costs",
    }
    assert all(("error" in case) != ("quarantined" in case) for case in CASES)


def project(tmp_path: Path, case: dict):
    data = tmp_path / "data"
    data.mkdir()
    if (CORPUS / case["file"]).exists():
        shutil.copy(CORPUS / case["file"], data / case["file"])
    config = {
        "name": "corpus",
        "validation": {"max_quarantine_share": 1.0, **case.get("validation", {})},
        "sources": {case["table"]: {"path": f"data/{case['file']}", **case.get("config", {})}},
    }
    (tmp_path / "cxdata.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return load_config(tmp_path / "cxdata.yaml", environ={})


def rows_read(path: Path, case: dict) -> int:
    """The source's record count, read independently of cxdata."""
    if path.suffix == ".parquet":
        return pl.read_parquet(path).height
    options = case.get("config", {}).get("csv", {})
    text = path.read_bytes().decode(options.get("encoding", "utf-8"))
    return pl.read_csv(text.encode(), separator=options.get("separator", ","), infer_schema=False).height


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_case(case, tmp_path):
    if "error" in case:
        with pytest.raises(CxdataError) as info:
            load_table(project(tmp_path, case), case["table"])
        message = str(info.value)
        assert case["error"] in message
        assert "Traceback" not in message and "\n" not in message.strip()
        return
    config = project(tmp_path, case)
    staged = stage_table(config, case["table"])
    rows = rows_read(tmp_path / "data" / case["file"], case)
    audit = staged.audit
    assert staged.accepted.height + staged.quarantined.height == rows == audit["rows_in"]
    assert (audit["rows_accepted"], audit["rows_quarantined"]) == (
        staged.accepted.height,
        staged.quarantined.height,
    )
    assert staged.accepted.height == case["accepted"]
    assert json.loads(audit["quarantined_by_rule"]) == case["quarantined"]
    counts = staged.quarantined.group_by("rule").len()
    assert dict(counts.iter_rows()) == case["quarantined"]
    if "rules" in case:
        assert staged.quarantined["rules"].to_list() == case["rules"]
    for column, values in case.get("values", {}).items():
        assert staged.accepted[column].to_list() == values
    if "original" in case:
        assert json.loads(staged.quarantined["original"][0]) == case["original"]
    # Records are numbered within their file, and each is held back at most once.
    assert staged.quarantined["record"].is_unique().all()
    assert staged.quarantined["record"].is_between(1, rows).all()
