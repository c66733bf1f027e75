"""A kill or a damaged file in the GX folder never changes what the next validation finds."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from cxdata.errors import OutputError
from cxdata.faults import ENV
from cxdata.validate import gx
from cxdata.validate.suites import ERROR, WARN, Spec

T = "t"
SPECS = [
    Spec(T, "not_null", ERROR, "id"),
    Spec(T, "unique", ERROR, "id"),
    Spec(T, "between", WARN, "x", min=0, max=10),
]
BAD = {"id": ["a", None, "a", "b"], "x": [1.0, 2.0, 30.0, 4.0]}
GOOD = {"id": ["a", "b", "c"], "x": [1.0, 2.0, 3.0]}

# Runs one validation of BAD into the docs folder given as argv[1]; the test kills it at a crash point.
CHILD = f"""
import sys
from pathlib import Path
import polars as pl
from cxdata.validate import gx
from cxdata.validate.suites import ERROR, WARN, Spec
specs = {SPECS!r}
gx.validate_frame(pl.DataFrame({BAD!r}), {T!r}, specs, Path(sys.argv[1]), run_name="killed")
"""


def outcome(data: dict, docs: Path, run_name: str) -> tuple:
    result = gx.validate_frame(pl.DataFrame(data), T, SPECS, docs, run_name=run_name)
    assert result.docs_index is not None and result.docs_index.is_file()
    failures = sorted((f.kind, f.column, f.severity, f.unexpected_count, f.samples) for f in result.failures)
    return result.evaluated, tuple(failures)


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> dict[str, tuple]:
    docs = tmp_path_factory.mktemp("clean")
    found = {"good": outcome(GOOD, docs, "r1"), "bad": outcome(BAD, docs, "r2")}
    assert found["good"][1] == () and {f[0] for f in found["bad"][1]} == {"not_null", "unique", "between"}
    return found


def assert_healthy(docs: Path) -> None:
    stored = docs / "gx" / "uncommitted"
    assert not [p for p in stored.rglob("*") if p.name.endswith(".cxdata-tmp")]
    assert not [p for p in stored.rglob("*") if p.is_dir() and not any(p.iterdir())]
    for result in (stored / "validations").rglob("*.json"):
        json.loads(result.read_text())  # every result left behind is whole


def test_empty_and_corrupt_files_of_a_file_context_project_are_not_needed(tmp_path, clean):
    # The layout an older version left: suite, validation definition and project config files, here damaged.
    project = tmp_path / "gx"
    (project / "expectations").mkdir(parents=True)
    (project / "validation_definitions").mkdir()
    (project / "expectations" / f"{T}.json").write_text("")
    (project / "validation_definitions" / f"{T}.json").write_text('{"name": "t", "suite": {')
    (project / "great_expectations.yml").write_text("config_version: [")
    assert outcome(GOOD, tmp_path, "r1") == clean["good"]
    assert outcome(BAD, tmp_path, "r2") == clean["bad"]
    assert_healthy(tmp_path)


@pytest.mark.parametrize("cut", [0, 100, -1])
def test_a_truncated_result_is_treated_as_missing(tmp_path, clean, cut):
    assert outcome(BAD, tmp_path, "r1") == clean["bad"]
    (earlier,) = (tmp_path / "gx" / "uncommitted" / "validations").rglob("*.json")
    # -1: cut inside a two-byte character, which no longer decodes
    earlier.write_bytes(earlier.read_bytes()[:cut] if cut >= 0 else b'{"note": "\xc3')
    assert outcome(GOOD, tmp_path, "r2") == clean["good"]
    assert outcome(BAD, tmp_path, "r3") == clean["bad"]
    assert not earlier.exists()  # the docs index read it, found it unreadable and dropped it
    assert_healthy(tmp_path)


@pytest.mark.parametrize("damage", ["", "store_backend_id = ", "garbage"])
def test_an_unreadable_store_id_is_written_anew(tmp_path, damage):
    from cxdata.validate.gx_store import AtomicFilesystemStoreBackend

    (tmp_path / ".ge_store_backend_id").write_text(damage)
    backend = AtomicFilesystemStoreBackend(base_directory=str(tmp_path), filepath_suffix=".json")
    again = AtomicFilesystemStoreBackend(base_directory=str(tmp_path), filepath_suffix=".json")
    assert backend.store_backend_id == again.store_backend_id
    assert str(backend.store_backend_id) != "00000000-0000-0000-0000-00000000e003"  # GX's "invalid" id


@pytest.mark.parametrize("point", ["gx:suite_write", "gx:docs_write"])
def test_a_kill_while_gx_writes_leaves_the_next_run_unaffected(tmp_path, clean, point):
    assert outcome(GOOD, tmp_path, "r1") == clean["good"]
    env = {**os.environ, ENV: point}
    killed = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path)], env=env, capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    partial = [p for p in (tmp_path / "gx").rglob("*") if p.name.endswith(".cxdata-tmp")]
    assert partial and all(p.stat().st_size > 0 for p in partial)  # it died mid-write, as planned
    assert outcome(BAD, tmp_path, "r2") == clean["bad"]
    assert outcome(GOOD, tmp_path, "r3") == clean["good"]
    assert_healthy(tmp_path)


def test_write_atomic_keeps_the_old_file_until_the_new_one_is_whole(tmp_path):
    from cxdata.validate.gx_store import write_atomic

    target = tmp_path / "page.html"
    target.write_bytes(b"old page")
    code = "import sys; from pathlib import Path; from cxdata.validate.gx_store import write_atomic; "
    code += "write_atomic(Path(sys.argv[1]), b'new page' * 1000, 'gx:docs_write')"
    env = {**os.environ, ENV: "gx:*"}
    killed = subprocess.run([sys.executable, "-c", code, str(target)], env=env, capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert target.read_bytes() == b"old page"
    write_atomic(target, b"new page")
    assert target.read_bytes() == b"new page"


def test_results_and_docs_are_private_and_a_planted_lock_link_is_not_followed(tmp_path, clean):
    victim = tmp_path / "victim.txt"
    victim.write_text("do not touch", encoding="utf-8")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / ".lock").symlink_to(victim)
    with pytest.raises(OutputError, match=r"cannot open the validation lock .*\.lock"):
        outcome(BAD, docs, "r1")
    assert victim.read_text(encoding="utf-8") == "do not touch"

    (docs / ".lock").unlink()
    assert outcome(BAD, docs, "r2") == clean["bad"]
    written = [p for p in (docs / "gx").rglob("*") if p.is_file()]
    assert any(p.suffix == ".json" for p in written) and any(p.suffix == ".html" for p in written)
    assert {stat.S_IMODE(p.stat().st_mode) for p in [*written, docs / ".lock"]} == {0o600}
