"""House style is enforced where CI can see it: ruff's lint and format checks over the whole tree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUFF = Path(sys.executable).parent / "ruff"


def test_ruff_lint_is_clean():
    done = subprocess.run([RUFF, "check", "."], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format_is_clean():
    done = subprocess.run([RUFF, "format", "--check", "."], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_no_pl_format_in_the_library():
    # polars 2.1's pl.format panics on the zero-length chunks its streaming filter leaves in a multi-chunk frame
    # (assertion failed: i < self.len()); pl.concat_str builds the same strings without that path.
    used = [
        f"{path.relative_to(REPO)}:{number}"
        for folder in ("cxdata", "pipelines")
        for path in sorted((REPO / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if "pl.format(" in line
    ]
    assert used == []
